package filesink

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"sort"

	"github.com/hamba/avro/v2"

	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

func avroSchemaOf(cfg Config) (string, error) {
	return encode.AvroSchema(cfg.Record, cfg.AvroName)
}

// avroEncoder writes an Avro object container file (Avro 1.12 spec,
// "Object Container Files"): the header with the schema and codec, then
// deflate-compressed blocks each ended by the sync marker. Written here
// rather than with hamba/avro's ocf encoder so that equal rows give equal
// bytes (its header metadata is a Go map, written in random order); files
// are read back with hamba/avro's decoder in the tests.
type avroEncoder struct {
	out   io.Writer
	bin   *encode.AvroBinary
	sync  [16]byte
	block []byte // encoded data of the current block
	count int64
	buf   []byte
	zbuf  bytes.Buffer
	z     *flate.Writer
}

// avroBlockSize is the uncompressed size at which a block is written.
const avroBlockSize = 1 << 20

func newAvroEncoder(out io.Writer, cfg Config) (*avroEncoder, error) {
	js, err := avroSchemaOf(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := avro.Parse(js); err != nil {
		return nil, err
	}
	bin, err := encode.NewAvroBinary(cfg.Record)
	if err != nil {
		return nil, err
	}
	e := &avroEncoder{out: out, bin: bin}
	// The sync marker is usually random; derived from the schema it keeps
	// files reproducible.
	sum := sha256.Sum256([]byte(js))
	copy(e.sync[:], sum[:])
	if e.z, err = flate.NewWriter(&e.zbuf, flate.DefaultCompression); err != nil {
		return nil, err
	}
	meta := map[string]string{"avro.schema": js, "avro.codec": "deflate"}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := []byte("Obj\x01")
	h = appendLong(h, int64(len(keys)))
	for _, k := range keys {
		h = appendLong(h, int64(len(k)))
		h = append(h, k...)
		h = appendLong(h, int64(len(meta[k])))
		h = append(h, meta[k]...)
	}
	h = append(h, 0)
	h = append(h, e.sync[:]...)
	if _, err := out.Write(h); err != nil {
		return nil, err
	}
	return e, nil
}

func appendLong(b []byte, n int64) []byte {
	return binary.AppendUvarint(b, uint64((n<<1)^(n>>63)))
}

func (e *avroEncoder) write(rows []row.Row) error {
	for _, r := range rows {
		n := len(e.block)
		var err error
		if e.block, err = e.bin.Append(e.block, r); err != nil {
			e.block = e.block[:n] // drop the partial datum
			return err
		}
		e.count++
		if len(e.block) >= avroBlockSize {
			if err := e.flushBlock(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *avroEncoder) flushBlock() error {
	if e.count == 0 {
		return nil
	}
	e.zbuf.Reset()
	e.z.Reset(&e.zbuf)
	if _, err := e.z.Write(e.block); err != nil {
		return err
	}
	if err := e.z.Close(); err != nil {
		return err
	}
	e.buf = appendLong(e.buf[:0], e.count)
	e.buf = appendLong(e.buf, int64(e.zbuf.Len()))
	e.buf = append(e.buf, e.zbuf.Bytes()...)
	e.buf = append(e.buf, e.sync[:]...)
	e.block, e.count = e.block[:0], 0
	_, err := e.out.Write(e.buf)
	return err
}

func (e *avroEncoder) close() error { return e.flushBlock() }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
