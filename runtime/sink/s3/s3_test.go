package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The examples of AWS's "Signature Calculations for the Authorization
// Header" (S3 API reference), with their published intermediate values.
var exampleCreds = Credentials{AccessKey: "AKIAIOSFODNN7EXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func TestSignGetObjectExample(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	Sign(req, EmptySHA256, exampleCreds, "us-east-1", "s3", exampleTime)

	canonical, _ := CanonicalRequest(req, EmptySHA256)
	wantCanonical := "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n" +
		"x-amz-content-sha256:" + EmptySHA256 + "\nx-amz-date:20130524T000000Z\n\n" +
		"host;range;x-amz-content-sha256;x-amz-date\n" + EmptySHA256
	if canonical != wantCanonical {
		t.Errorf("canonical request:\n%s\nwant:\n%s", canonical, wantCanonical)
	}
	sts := StringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical)
	if !strings.HasSuffix(sts, "\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972") {
		t.Errorf("string to sign:\n%s", sts)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization:\n%s\nwant:\n%s", got, want)
	}
}

func TestSignPutObjectExample(t *testing.T) {
	body := "Welcome to Amazon S3."
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if hash != "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072" {
		t.Fatalf("payload hash %s", hash)
	}
	c := &Client{Endpoint: "https://s3.amazonaws.com"}
	u, err := c.objectURL("examplebucket", "test$file.text")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", u.String(), strings.NewReader(body))
	req.URL = u
	req.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
	req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	Sign(req, hash, exampleCreds, "us-east-1", "s3", exampleTime)
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," +
		"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
	if got := req.Header.Get("Authorization"); got != want {
		canonical, _ := CanonicalRequest(req, hash)
		t.Errorf("Authorization:\n%s\nwant:\n%s\ncanonical:\n%s", got, want, canonical)
	}
}

func TestSignListObjectsExample(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", nil)
	Sign(req, EmptySHA256, exampleCreds, "us-east-1", "s3", exampleTime)
	want := "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
	if got := req.Header.Get("Authorization"); !strings.HasSuffix(got, want) {
		t.Errorf("Authorization:\n%s\nwant …%s", got, want)
	}
}

func TestObjectURL(t *testing.T) {
	for _, tc := range []struct {
		c    Client
		key  string
		want string
	}{
		{Client{Region: "eu-west-1"}, "a/b c.parquet", "https://bkt.s3.eu-west-1.amazonaws.com/a/b%20c.parquet"},
		{Client{Endpoint: "http://127.0.0.1:9000", PathStyle: true}, "trades/part-0.avro", "http://127.0.0.1:9000/bkt/trades/part-0.avro"},
		{Client{Endpoint: "http://minio:9000/", PathStyle: true}, "ünï/x+y", "http://minio:9000/bkt/%C3%BCn%C3%AF/x%2By"},
	} {
		u, err := tc.c.objectURL("bkt", tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if u.String() != tc.want {
			t.Errorf("objectURL(%q) = %s, want %s", tc.key, u, tc.want)
		}
	}
}

// Put sends what it signed: a local HTTP server stands in for the network
// peer and checks the request line, the body and its declared hash (it is
// not an S3 implementation; the signature is checked against AWS's own
// examples above).
func TestPutRequest(t *testing.T) {
	var got struct {
		path, auth, hash string
		body             []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.auth, got.hash = r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("X-Amz-Content-Sha256")
		got.body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL, PathStyle: true, Region: "us-east-1",
		Creds: Credentials{AccessKey: "minio", SecretKey: "minio123"}, Now: func() time.Time { return exampleTime }}
	body := []byte("row data")
	sum := sha256.Sum256(body)
	if err := c.Put(context.Background(), "lake", "bars/part 0.parquet", strings.NewReader(string(body)), int64(len(body)), hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	if got.path != "/lake/bars/part%200.parquet" || string(got.body) != "row data" || got.hash != hex.EncodeToString(sum[:]) {
		t.Errorf("request: %+v", got)
	}
	if !strings.HasPrefix(got.auth, "AWS4-HMAC-SHA256 Credential=minio/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,Signature=") {
		t.Errorf("Authorization: %s", got.auth)
	}
	// An error answer is reported with its status and body.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
	})
	err := c.Put(context.Background(), "lake", "k", strings.NewReader(""), 0, EmptySHA256)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v", err)
	}
}
