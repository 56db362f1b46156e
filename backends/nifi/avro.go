package nifi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"rtsap.dev/rtsapc/compiler/rtype"
)

// NiFi's record services take their schema as Avro schema text. Avro names
// are [A-Za-z_][A-Za-z0-9_]* (the Avro specification, "Names"); a field whose
// name is not one cannot be carried through NiFi's record processors and is
// rejected in Check.
var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// avroField is one field of an Avro record schema, in the key order Avro
// tools print.
type avroField struct {
	Name string
	Type any
	// nullDefault writes "default": null (nullable fields).
	nullDefault bool
}

func (f avroField) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	n, _ := json.Marshal(f.Name)
	b.Write(n)
	b.WriteString(`,"type":`)
	t, err := json.Marshal(f.Type)
	if err != nil {
		return nil, err
	}
	b.Write(t)
	if f.nullDefault {
		b.WriteString(`,"default":null`)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type avroRecord struct {
	Type   string      `json:"type"`
	Name   string      `json:"name"`
	Fields []avroField `json:"fields"`
}

type avroLogical struct {
	Type        string `json:"type"`
	LogicalType string `json:"logicalType"`
	Precision   int    `json:"precision,omitempty"`
	Scale       int    `json:"scale,omitempty"`
}

type avroArray struct {
	Type  string `json:"type"`
	Items any    `json:"items"`
}

type avroMap struct {
	Type   string `json:"type"`
	Values any    `json:"values"`
}

// avroSchema renders t (a record) as compact Avro schema JSON. Record names
// are numbered from the top ("r0", "r1", …) since Avro needs a name for
// every record and they must be unique within the schema.
func avroSchema(t *rtype.Type) (string, error) {
	n := 0
	s, err := avroType(t, &n)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(b.Bytes(), "\n")), nil
}

func avroType(t *rtype.Type, n *int) (any, error) {
	switch t.Kind {
	case rtype.String:
		return "string", nil
	case rtype.Bool:
		return "boolean", nil
	case rtype.Int32:
		return "int", nil
	case rtype.Int64:
		return "long", nil
	case rtype.Float32:
		return "float", nil
	case rtype.Float64:
		return "double", nil
	case rtype.Bytes:
		return "bytes", nil
	case rtype.Decimal:
		return avroLogical{Type: "bytes", LogicalType: "decimal", Precision: t.Precision, Scale: t.Scale}, nil
	case rtype.Date:
		return avroLogical{Type: "int", LogicalType: "date"}, nil
	case rtype.Timestamp:
		// Avro has millisecond and microsecond timestamps; a coarser
		// precision is held exactly by millis, a finer one by nothing.
		switch {
		case t.Precision <= 3:
			return avroLogical{Type: "long", LogicalType: "timestamp-millis"}, nil
		case t.Precision <= 6:
			return avroLogical{Type: "long", LogicalType: "timestamp-micros"}, nil
		}
		return nil, fmt.Errorf("%s has nanosecond digits, which NiFi records cannot hold", t)
	case rtype.List:
		e, err := avroType(t.Elem, n)
		if err != nil {
			return nil, err
		}
		return avroArray{Type: "array", Items: e}, nil
	case rtype.Map:
		e, err := avroType(t.Elem, n)
		if err != nil {
			return nil, err
		}
		return avroMap{Type: "map", Values: e}, nil
	case rtype.Record:
		r := avroRecord{Type: "record", Name: fmt.Sprintf("r%d", *n), Fields: []avroField{}}
		*n++
		for _, f := range t.Fields {
			if !avroName.MatchString(f.Name) {
				return nil, fmt.Errorf("field %q is not an Avro name ([A-Za-z_][A-Za-z0-9_]*)", f.Name)
			}
			ft, err := avroType(f.Type, n)
			if err != nil {
				return nil, fmt.Errorf("field %q: %v", f.Name, err)
			}
			af := avroField{Name: f.Name, Type: ft}
			if f.Nullable {
				af.Type = []any{"null", ft}
				af.nullDefault = true
			}
			r.Fields = append(r.Fields, af)
		}
		return r, nil
	}
	return nil, fmt.Errorf("type %s has no Avro equivalent", t)
}
