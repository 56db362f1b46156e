package filesink

import (
	"crypto/sha256"
	"io"
	"sort"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

func avroSchemaOf(cfg Config) (string, error) {
	return encode.AvroSchema(cfg.Record, cfg.AvroName)
}

// avroEncoder writes an Avro object container file.
type avroEncoder struct {
	enc *ocf.Encoder
	bin *encode.AvroBinary
	buf []byte
}

func newAvroEncoder(out io.Writer, cfg Config) (*avroEncoder, error) {
	js, err := avroSchemaOf(cfg)
	if err != nil {
		return nil, err
	}
	schema, err := avro.Parse(js)
	if err != nil {
		return nil, err
	}
	bin, err := encode.NewAvroBinary(cfg.Record)
	if err != nil {
		return nil, err
	}
	// The sync marker is random by default; deriving it from the schema
	// makes equal rows give equal files.
	var sync [16]byte
	sum := sha256.Sum256([]byte(js))
	copy(sync[:], sum[:])
	// The header carries our schema text: hamba's canonical form would drop
	// defaults and logical types it does not know (timestamp-nanos).
	enc, err := ocf.NewEncoderWithSchema(schema, out, ocf.WithSyncBlock(sync), ocf.WithCodec(ocf.Deflate),
		ocf.WithSchemaMarshaler(func(avro.Schema) ([]byte, error) { return []byte(js), nil }))
	if err != nil {
		return nil, err
	}
	return &avroEncoder{enc: enc, bin: bin}, nil
}

func (e *avroEncoder) write(rows []row.Row) error {
	for _, r := range rows {
		var err error
		if e.buf, err = e.bin.Append(e.buf[:0], r); err != nil {
			return err
		}
		// The encoder keeps its own copy of the datum in its block buffer.
		if _, err := e.enc.Write(e.buf); err != nil {
			return err
		}
	}
	return nil
}

func (e *avroEncoder) close() error { return e.enc.Close() }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
