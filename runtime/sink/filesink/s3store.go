package filesink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	"rtsap.dev/rtsapc/runtime/sink/s3"
)

// S3 stores files as objects of a bucket: each is spooled to a local
// temporary file (its hash is part of the signature) and PUT whole at
// Commit, so a failed writer leaves no partial object.
type S3 struct {
	Client *s3.Client
	Bucket string
}

// Where is the object's bucket and key at its endpoint.
func (s S3) Where(name string) string {
	return "s3:" + s.Client.Endpoint + "/" + s.Bucket + "/" + name
}

// Create spools the object to a temporary file.
func (s S3) Create(_ context.Context, name string) (Object, error) {
	f, err := os.CreateTemp("", "rtsapc-s3-*")
	if err != nil {
		return nil, err
	}
	return &s3Object{store: s, key: name, f: f, h: sha256.New()}, nil
}

type s3Object struct {
	store S3
	key   string
	f     *os.File
	h     interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (o *s3Object) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	o.h.Write(p[:n])
	o.n += int64(n)
	return n, err
}

func (o *s3Object) Commit(ctx context.Context) error {
	defer os.Remove(o.f.Name())
	defer o.f.Close()
	if _, err := o.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return o.store.Client.Put(ctx, o.store.Bucket, o.key, o.f, o.n, hex.EncodeToString(o.h.Sum(nil)))
}

func (o *s3Object) Abort(context.Context) error {
	o.f.Close()
	return os.Remove(o.f.Name())
}
