package s3

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Object is one entry of a listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// MaxGet bounds the objects Get reads into memory.
const MaxGet = 1 << 30

// do sends a signed request without a body and returns the response of a
// 2xx status; other statuses are errors carrying S3's message.
func (c *Client) do(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	req.URL = u
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	Sign(req, EmptySHA256, c.Creds, c.region(), "s3", now())
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// Get reads bucket/key whole (at most MaxGet bytes).
func (c *Client) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	u, err := c.objectURL(bucket, key)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("s3: get %s/%s: %w", bucket, key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxGet+1))
	if err != nil {
		return nil, fmt.Errorf("s3: get %s/%s: %w", bucket, key, err)
	}
	if len(b) > MaxGet {
		return nil, fmt.Errorf("s3: get %s/%s: object larger than %d bytes", bucket, key, MaxGet)
	}
	return b, nil
}

type listResult struct {
	Contents []struct {
		Key          string `xml:"Key"`
		Size         int64  `xml:"Size"`
		LastModified string `xml:"LastModified"`
	} `xml:"Contents"`
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
}

// List returns the objects under prefix in key order (ListObjectsV2,
// every page).
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	token := ""
	for page := 0; ; page++ {
		if page > 100000 {
			return nil, fmt.Errorf("s3: list %s/%s: too many pages", bucket, prefix)
		}
		u, err := c.bucketURL(bucket)
		if err != nil {
			return nil, err
		}
		q := []string{"list-type=2"}
		if prefix != "" {
			q = append(q, "prefix="+escapeQuery(prefix))
		}
		if token != "" {
			q = append(q, "continuation-token="+escapeQuery(token))
		}
		u.RawQuery = strings.Join(q, "&")
		resp, err := c.do(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("s3: list %s/%s: %w", bucket, prefix, err)
		}
		var r listResult
		err = xml.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("s3: list %s/%s: malformed response: %v", bucket, prefix, err)
		}
		for _, o := range r.Contents {
			t, _ := time.Parse(time.RFC3339Nano, o.LastModified)
			out = append(out, Object{Key: o.Key, Size: o.Size, LastModified: t})
		}
		if !r.IsTruncated || r.NextContinuationToken == "" || r.NextContinuationToken == token {
			return out, nil
		}
		token = r.NextContinuationToken
	}
}

// bucketURL addresses the bucket itself (listings).
func (c *Client) bucketURL(bucket string) (*url.URL, error) {
	u, err := c.objectURL(bucket, "x")
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "x")
	u.RawPath = EscapePath(u.Path)
	return u, nil
}
