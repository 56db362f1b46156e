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
//	partitionBy  Hive-style directories <path>/<col>=<value>/… (see
//	           filesink.Partitioned); the columns are left out of the files
//	compression  parquet: snappy (default), zstd, gzip, none
//
// rollover is refused: the runtime writes one object per writer (the Beam
// runtime: per bundle), published at Close.
func newS3(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	bucket := c.String("bucket", "")
	if bucket == "" {
		return nil, fmt.Errorf("s3: the bucket option is required")
	}
	if _, ok := c.Option("rollover"); ok {
		return nil, fmt.Errorf("s3: option rollover is not supported by the Beam runtime sink (objects are published when each bundle finishes)")
	}
	if len(op.Key) > 0 {
		return nil, fmt.Errorf("s3: an object sink cannot upsert on key %q", op.Key)
	}
	prefix := strings.Trim(c.String("path", ""), "/")
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("s3: path %q has partition placeholders, which the Beam runtime sink does not fill; use partitionBy", prefix)
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
	by, err := stringList(c, "partitionBy")
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
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
	return fileWriter(filesink.Config{
		Store:       filesink.S3{Client: cl, Bucket: bucket},
		Name:        prefix,
		Format:      f,
		Record:      node.Out,
		AvroName:    c.String("recordName", ""),
		Compression: c.String("compression", ""),
	}, by, opts.Shard)
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
