package format

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// AvroRecord converts a record decoded generically by hamba/avro (for
// example from an object container file, read with the file's own writer
// schema) into a row of t, matching fields by AvroFieldName.
func AvroRecord(t *rtype.Type, m map[string]any) (r row.Row, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("malformed Avro: %v", p)
		}
	}()
	return fromAvroRecord(t, m)
}
