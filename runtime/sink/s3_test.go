package sink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"rtsap.dev/rtsapc/compiler/ir"
)

// The s3 sink PUTs one Parquet object, whole, at Close. No S3 server runs
// here: a local HTTP server records the request (the signature itself is
// checked against AWS's published examples in runtime/sink/s3), and the
// recorded body is read back with parquet-go.
func TestS3ParquetObject(t *testing.T) {
	var mu sync.Mutex
	objects := map[string][]byte{}
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		objects[r.Method+" "+r.URL.EscapedPath()] = b
		auth = r.Header.Get("Authorization")
		mu.Unlock()
	}))
	defer srv.Close()
	n := sinkNode("s3", "parquet", allType, nil, map[string]any{
		"bucket": "lake", "path": "md/bars/", "endpoint": srv.URL,
		"accessKey": &ir.Secret{Name: "minio", Key: "access", Env: "MINIO_ACCESS"},
		"secretKey": &ir.Secret{Name: "minio", Key: "secret"},
	})
	env := map[string]string{"MINIO_ACCESS": "minio", "RTSAPC_SECRET_MINIO_SECRET": "minio123"}
	opts := Options{Shard: "7", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }}
	w := openWriter(t, n, opts)
	writeAll(t, w, twoRows(t))
	if len(objects) != 0 {
		t.Fatal("object uploaded before Close")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	body, ok := objects["PUT /lake/md/bars/part-7.parquet"]
	if !ok || len(objects) != 1 {
		t.Fatalf("objects: %v", keys(objects))
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=minio/20261126/us-east-1/s3/aws4_request,") {
		t.Errorf("Authorization: %s", auth)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil || pf.NumRows() != 2 {
		t.Fatalf("parquet object: %v", err)
	}

	// Missing credentials and unsupported options are refused up front.
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"bucket": "lake", "path": "p"}, "$AWS_ACCESS_KEY_ID is not set"},
		{map[string]any{"bucket": "lake", "path": "p", "rollover": "5m"}, "rollover is not supported"},
		{map[string]any{"bucket": "lake", "path": "t/date={date}/"}, "placeholders"},
		{map[string]any{"path": "p"}, "bucket option is required"},
	} {
		_, err := New(sinkNode("s3", "", allType, nil, tc.opts), Options{LookupEnv: func(string) (string, bool) { return "", false }})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
