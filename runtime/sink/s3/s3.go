// Package s3 puts objects to Amazon S3 or an S3-compatible store (MinIO)
// over plain net/http, signing requests with AWS Signature Version 4.
package s3

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Credentials sign requests.
type Credentials struct {
	AccessKey, SecretKey string
	SessionToken         string // temporary credentials; "" when none
}

// Client puts objects into buckets.
type Client struct {
	// Endpoint is the service URL ("" → https://s3.<region>.amazonaws.com).
	Endpoint string
	Region   string // "" → us-east-1
	// PathStyle addresses buckets as /<bucket>/<key> (MinIO) instead of
	// <bucket>.<host>/<key>.
	PathStyle bool
	Creds     Credentials
	HTTP      *http.Client
	Now       func() time.Time
}

// MaxPut is the largest object one PUT may carry.
const MaxPut = 5 << 30

// Put uploads body (size bytes, sha256 hex digest) as bucket/key.
func (c *Client) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, sha256Hex string) error {
	if size > MaxPut {
		return fmt.Errorf("s3: object %s is %d bytes; single PUTs stop at 5 GiB (multipart upload is not implemented)", key, size)
	}
	u, err := c.objectURL(bucket, key)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	req.URL = u // keep RawPath exactly as escaped for signing
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	Sign(req, sha256Hex, c.Creds, c.region(), "s3", now())
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("s3: put %s/%s: %w", bucket, key, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("s3: put %s/%s: %s: %s", bucket, key, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (c *Client) region() string {
	if c.Region == "" {
		return "us-east-1"
	}
	return c.Region
}

// objectURL addresses the object path-style or virtual-hosted-style.
func (c *Client) objectURL(bucket, key string) (*url.URL, error) {
	if bucket == "" || key == "" {
		return nil, errors.New("s3: empty bucket or key")
	}
	ep := c.Endpoint
	if ep == "" {
		ep = "https://s3." + c.region() + ".amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("s3: endpoint %q is not an http(s) URL", ep)
	}
	base := strings.TrimRight(u.Path, "/")
	var p string
	if c.PathStyle {
		p = base + "/" + bucket + "/" + key
	} else {
		u.Host = bucket + "." + u.Host
		p = base + "/" + key
	}
	u.Path = p
	u.RawPath = EscapePath(p)
	return u, nil
}

// EscapePath URI-encodes each segment of an S3 path as SigV4 requires
// (RFC 3986 unreserved characters stay, '/' separates).
func EscapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || unreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// EmptySHA256 is the hex SHA-256 of no bytes.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Sign adds X-Amz-Date, X-Amz-Content-Sha256 (and the session token) and
// the Authorization header of AWS Signature Version 4 to req. Every header
// present is signed. payloadHash is the body's hex SHA-256 (or
// "UNSIGNED-PAYLOAD").
func Sign(req *http.Request, payloadHash string, creds Credentials, region, service string, t time.Time) {
	t = t.UTC()
	amzDate := t.Format("20060102T150405Z")
	day := t.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if creds.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	}
	canonical, signed := CanonicalRequest(req, payloadHash)
	scope := day + "/" + region + "/" + service + "/aws4_request"
	sts := StringToSign(amzDate, scope, canonical)
	key := hmacSHA256([]byte("AWS4"+creds.SecretKey), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, sts))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+creds.AccessKey+"/"+scope+
		",SignedHeaders="+signed+",Signature="+sig)
}

// CanonicalRequest returns SigV4's canonical request of req and its signed
// header list.
func CanonicalRequest(req *http.Request, payloadHash string) (canonical, signedHeaders string) {
	path := req.URL.EscapedPath()
	if req.URL.RawPath == "" {
		path = EscapePath(req.URL.Path)
	}
	if path == "" {
		path = "/"
	}
	// Query: keys and values encoded, sorted by key then value.
	var qs []string
	for k, vs := range req.URL.Query() {
		for _, v := range vs {
			qs = append(qs, escapeQuery(k)+"="+escapeQuery(v))
		}
	}
	sort.Strings(qs)
	// Headers: lower-case names, trimmed values with inner spaces folded.
	hdr := map[string][]string{"host": {hostOf(req)}}
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "user-agent" {
			continue
		}
		for _, v := range vs {
			hdr[lk] = append(hdr[lk], strings.Join(strings.Fields(v), " "))
		}
	}
	names := make([]string, 0, len(hdr))
	for k := range hdr {
		names = append(names, k)
	}
	sort.Strings(names)
	var ch strings.Builder
	for _, k := range names {
		ch.WriteString(k + ":" + strings.Join(hdr[k], ",") + "\n")
	}
	signedHeaders = strings.Join(names, ";")
	canonical = strings.Join([]string{req.Method, path, strings.Join(qs, "&"), ch.String(), signedHeaders, payloadHash}, "\n")
	return canonical, signedHeaders
}

// StringToSign is SigV4's string to sign for a canonical request.
func StringToSign(amzDate, scope, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	return "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

func hostOf(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
