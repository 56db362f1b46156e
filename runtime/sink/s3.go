package sink

import (
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
	"rtsap.dev/rtsapc/runtime/sink/s3"
)

// newS3 reads the s3 options (stdlib/connect/s3):
//
//	bucket     the bucket
//	path       the key prefix; each writer puts <path>/part[-<shard>].<ext>
//	format     parquet (default), avro, json
//	endpoint   service URL for MinIO and other S3-compatible stores
//	region     default us-east-1
//	pathStyle  /<bucket>/<key> addressing (default: true with an endpoint)
//	accessKey, secretKey  secrets (default $AWS_ACCESS_KEY_ID,
//	           $AWS_SECRET_ACCESS_KEY, and $AWS_SESSION_TOKEN)
//
// partitionBy and rollover are refused: the runtime writes one object per
// writer, published at Close.
func newS3(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	bucket := c.String("bucket", "")
	if bucket == "" {
		return nil, fmt.Errorf("s3: the bucket option is required")
	}
	for _, k := range []string{"partitionBy", "rollover"} {
		if _, ok := c.Option(k); ok {
			return nil, fmt.Errorf("s3: option %s is not supported by the Beam runtime sink", k)
		}
	}
	if len(op.Key) > 0 {
		return nil, fmt.Errorf("s3: an object sink cannot upsert on key %q", op.Key)
	}
	prefix := strings.Trim(c.String("path", ""), "/")
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("s3: path %q has partition placeholders, which the Beam runtime sink does not fill", prefix)
	}
	if prefix != "" {
		prefix += "/"
	}
	format := c.Format
	if format == "" {
		format = c.String("format", "parquet")
	}
	f, err := fileFormat(&ir.Connector{Kind: "s3", Format: format}, "")
	if err != nil {
		return nil, err
	}
	if comp := c.String("compression", ""); comp != "" && !(f == filesink.ParquetFormat && comp == "snappy") {
		return nil, fmt.Errorf("s3: compression %q is not supported for %s (Parquet is written with snappy, Avro with deflate)", comp, f)
	}
	endpoint := c.String("endpoint", "")
	cl := &s3.Client{
		Endpoint:  endpoint,
		Region:    c.String("region", ""),
		PathStyle: c.Bool("pathStyle", endpoint != ""),
		HTTP:      opts.HTTPClient,
		Now:       opts.Now,
	}
	if cl.Creds.AccessKey, err = credential(c, "accessKey", "AWS_ACCESS_KEY_ID", opts); err != nil {
		return nil, err
	}
	if cl.Creds.SecretKey, err = credential(c, "secretKey", "AWS_SECRET_ACCESS_KEY", opts); err != nil {
		return nil, err
	}
	cl.Creds.SessionToken, _ = opts.lookupEnv("AWS_SESSION_TOKEN")
	return filesink.New(filesink.Config{
		Store:    filesink.S3{Client: cl, Bucket: bucket},
		Name:     objectName(prefix, f, opts.Shard),
		Format:   f,
		Record:   node.Out,
		AvroName: c.String("recordName", ""),
	})
}

// credential reads a secret option, else the AWS environment variable.
func credential(c *ir.Connector, key, env string, opts *Options) (string, error) {
	v, ok, err := secretOnly(c, key, opts)
	if err != nil || ok {
		return v, err
	}
	if v, ok := opts.lookupEnv(env); ok {
		return v, nil
	}
	return "", fmt.Errorf("s3: no %s option and $%s is not set", key, env)
}
