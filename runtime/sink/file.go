package sink

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
)

// fileFormat is the format of a file or s3 sink: the connector's Format,
// else the `format` option, else the path's extension.
func fileFormat(c *ir.Connector, p string) (filesink.Format, error) {
	f := c.Format
	if f == "" {
		f = c.String("format", "")
	}
	if f == "" {
		switch strings.ToLower(path.Ext(p)) {
		case ".parquet":
			f = "parquet"
		case ".avro":
			f = "avro"
		case ".csv":
			f = "csv"
		default:
			f = "jsonl"
		}
	}
	switch f {
	case "json", "jsonl", "ndjson":
		return filesink.JSONLFormat, nil
	case "parquet":
		return filesink.ParquetFormat, nil
	case "avro":
		return filesink.AvroFormat, nil
	case "csv":
		if c.Kind == "file" {
			return filesink.CSVFormat, nil
		}
	}
	return "", fmt.Errorf("%s: format %q is not one of jsonl (json), csv (files), parquet, avro", c.Kind, f)
}

// objectName is where one writer's file goes. A path ending in "/" is a
// directory: the file is part-<shard><ext> in it ("part" for one writer).
// Otherwise the path is the file, with "-<shard>" before its extension
// when there are several writers.
func objectName(p string, f filesink.Format, shard string) string {
	if strings.HasSuffix(p, "/") {
		name := "part"
		if shard != "" {
			name += "-" + shard
		}
		return p + name + f.Ext()
	}
	if shard == "" {
		return p
	}
	ext := path.Ext(p)
	return strings.TrimSuffix(p, ext) + "-" + shard + ext
}

// newFile reads the file options:
//
//	path    the file, or a directory when it ends in "/" (relative paths
//	        resolve against Options.Dir)
//	format  jsonl (json: one object per line), csv (with a header line),
//	        parquet or avro; default from the extension
//	header  csv: must not be false (the header line is always written)
//	partitionBy, compression  as for s3
func newFile(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	p := c.String("path", "")
	if p == "" {
		return nil, fmt.Errorf("file: the path option is required")
	}
	f, err := fileFormat(c, p)
	if err != nil {
		return nil, err
	}
	// An existing directory named without the trailing slash is a directory.
	local := p
	if !filepath.IsAbs(local) && opts.Dir != "" {
		local = filepath.Join(opts.Dir, local)
	}
	if !opts.check && !strings.HasSuffix(p, "/") {
		if st, err := os.Stat(local); err == nil && st.IsDir() {
			p += "/"
		}
	}
	if f == filesink.CSVFormat && !c.Bool("header", true) {
		return nil, fmt.Errorf("file: csv without a header line is not supported")
	}
	if len(op.Key) > 0 {
		// Files are appended to; a key cannot be honoured.
		return nil, fmt.Errorf("file: a file sink cannot upsert on key %q", op.Key)
	}
	by, err := stringList(c, "partitionBy")
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if len(by) > 0 && !strings.HasSuffix(p, "/") {
		p += "/" // partitions are directories under the path
	}
	return fileWriter(filesink.Config{
		Store:       filesink.Local{Dir: opts.Dir},
		Name:        p,
		Format:      f,
		Record:      node.Out,
		AvroName:    c.String("recordName", ""),
		Compression: c.String("compression", ""),
	}, by, opts.Shard)
}

// fileWriter is the writer of a file or s3 sink whose cfg.Name is the
// configured path: one file (objectName), or with partition columns a
// part-<shard> file in each partition directory under it.
func fileWriter(cfg filesink.Config, by []string, shard string) (Writer, error) {
	if len(by) == 0 {
		cfg.Name = objectName(cfg.Name, cfg.Format, shard)
		return filesink.New(cfg)
	}
	file := "part"
	if shard != "" {
		file += "-" + shard
	}
	return filesink.NewPartitioned(cfg, by, file+cfg.Format.Ext())
}

// newStdout writes to Options.Stdout: JSON lines (format json, the
// default) or an aligned table printed at each flush (format table).
func newStdout(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	w := opts.Stdout
	if w == nil {
		w = os.Stdout
	}
	c := &op.Connector
	format := c.Format
	if format == "" {
		format = c.String("format", "json")
	}
	switch format {
	case "json", "jsonl":
		return filesink.NewJSONL(w, node.Out), nil
	case "table":
		return filesink.NewTable(w, node.Out), nil
	}
	return nil, fmt.Errorf("stdout: format %q is not json or table", format)
}
