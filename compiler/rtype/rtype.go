// Package rtype is the record type system of rtsapc: the column types of the
// spec's type grammar and records made of them. Types are immutable values
// shared by pointer; compare them with [Identical], never with ==.
package rtype

import (
	"fmt"
	"strings"
)

// Kind is the kind of a type.
type Kind uint8

const (
	Invalid Kind = iota // the type of something already reported as wrong
	String
	Bool
	Int32
	Int64
	Float32
	Float64
	Decimal   // Precision, Scale
	Timestamp // Precision: fractional-second digits (3 = millis)
	Date
	Bytes
	List   // Elem
	Map    // keys are strings; Elem is the value type
	Record // Fields
	Duration
)

var kindNames = [...]string{"invalid", "string", "bool", "int32", "int64", "float32", "float64",
	"decimal", "timestamp", "date", "bytes", "list", "map", "record", "duration"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Type is a column or record type.
type Type struct {
	Kind      Kind
	Precision int     // Decimal (1–38) and Timestamp (0–9)
	Scale     int     // Decimal (0–Precision)
	Elem      *Type   // List and Map values
	Fields    []Field // Record, in declaration order
}

// Field is a named column of a record.
type Field struct {
	Name string
	Type *Type
	// Nullable: the field is optional in the spec (`name?:`), or derived from
	// a nullable input (outer join side, an aggregate over no rows).
	Nullable bool
}

// Shared instances of the simple types.
var (
	InvalidType = &Type{Kind: Invalid}
	StringType  = &Type{Kind: String}
	BoolType    = &Type{Kind: Bool}
	Int32Type   = &Type{Kind: Int32}
	Int64Type   = &Type{Kind: Int64}
	Float32Type = &Type{Kind: Float32}
	Float64Type = &Type{Kind: Float64}
	DateType    = &Type{Kind: Date}
	BytesType   = &Type{Kind: Bytes}
	// TimestampMillis is timestamp(3), the type of window_start/window_end.
	TimestampMillis = &Type{Kind: Timestamp, Precision: 3}
	DurationType    = &Type{Kind: Duration}
)

// DecimalOf returns decimal(p,s).
func DecimalOf(p, s int) *Type { return &Type{Kind: Decimal, Precision: p, Scale: s} }

// TimestampOf returns timestamp(p).
func TimestampOf(p int) *Type { return &Type{Kind: Timestamp, Precision: p} }

// ListOf returns list<elem>.
func ListOf(elem *Type) *Type { return &Type{Kind: List, Elem: elem} }

// MapOf returns map<string,elem>.
func MapOf(elem *Type) *Type { return &Type{Kind: Map, Elem: elem} }

// RecordOf returns a record of the fields (not copied; do not mutate them).
func RecordOf(fields ...Field) *Type { return &Type{Kind: Record, Fields: fields} }

// IsNumeric reports int32, int64, float32, float64 or decimal.
func (t *Type) IsNumeric() bool {
	switch t.Kind {
	case Int32, Int64, Float32, Float64, Decimal:
		return true
	}
	return false
}

// IsInteger reports int32 or int64.
func (t *Type) IsInteger() bool { return t.Kind == Int32 || t.Kind == Int64 }

// IsFloat reports float32 or float64.
func (t *Type) IsFloat() bool { return t.Kind == Float32 || t.Kind == Float64 }

// Field returns the record field named name.
func (t *Type) Field(name string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// FieldNames lists the names of a record's fields in order.
func (t *Type) FieldNames() []string {
	out := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		out[i] = f.Name
	}
	return out
}

// String renders the type in the spec grammar; records render as
// record<name: type, name?: type>. The result parses back with [Parse].
func (t *Type) String() string {
	if t == nil {
		return "<nil>"
	}
	switch t.Kind {
	case Decimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case Timestamp:
		return fmt.Sprintf("timestamp(%d)", t.Precision)
	case List:
		return "list<" + t.Elem.String() + ">"
	case Map:
		return "map<string," + t.Elem.String() + ">"
	case Record:
		var b strings.Builder
		b.WriteString("record<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteName(f.Name))
			if f.Nullable {
				b.WriteString("?")
			}
			b.WriteString(": ")
			b.WriteString(f.Type.String())
		}
		b.WriteString(">")
		return b.String()
	}
	return t.Kind.String()
}

// quoteName leaves identifiers bare and quotes anything else as a Go/JSON
// string, so hostile names survive a round trip.
func quoteName(s string) string {
	if isIdent(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// Identical reports whether a and b are the same type (field names, order,
// nullability and parameters included).
func Identical(a, b *Type) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Kind != b.Kind || a.Precision != b.Precision || a.Scale != b.Scale {
		return false
	}
	switch a.Kind {
	case List, Map:
		return Identical(a.Elem, b.Elem)
	case Record:
		if len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			fa, fb := a.Fields[i], b.Fields[i]
			if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !Identical(fa.Type, fb.Type) {
				return false
			}
		}
	}
	return true
}

// AssignableTo reports whether a value of type v can be stored in a column
// of type t without loss: identical types, int32→int64, float32→float64,
// integers into a decimal wide enough, decimal(p,s) into decimal(p',s') with
// s' ≥ s and p'−s' ≥ p−s, timestamp(p) into timestamp(p') with p' ≥ p;
// records field by field (nullable into non-nullable is not assignable).
func AssignableTo(v, t *Type) bool {
	if v == nil || t == nil {
		return false
	}
	if v.Kind == Invalid || t.Kind == Invalid {
		return true // already reported
	}
	if Identical(v, t) {
		return true
	}
	switch t.Kind {
	case Int64:
		return v.Kind == Int32
	case Float64:
		return v.Kind == Float32 || v.Kind == Int32
	case Decimal:
		switch v.Kind {
		case Int32:
			return t.Precision-t.Scale >= 10
		case Int64:
			return t.Precision-t.Scale >= 19
		case Decimal:
			return t.Scale >= v.Scale && t.Precision-t.Scale >= v.Precision-v.Scale
		}
	case Timestamp:
		return v.Kind == Timestamp && t.Precision >= v.Precision
	case List, Map:
		return v.Kind == t.Kind && AssignableTo(v.Elem, t.Elem)
	case Record:
		if v.Kind != Record || len(v.Fields) != len(t.Fields) {
			return false
		}
		for i := range t.Fields {
			fv, ft := v.Fields[i], t.Fields[i]
			if fv.Name != ft.Name || (fv.Nullable && !ft.Nullable) || !AssignableTo(fv.Type, ft.Type) {
				return false
			}
		}
		return true
	}
	return false
}
