// Package row is the in-memory record representation shared by the Beam
// runtime's operators, decoders and sinks: a positional slice of values laid
// out as the fields of an rtype record.
package row

// Row holds one value per field of its record type, in field order. A nil
// entry is SQL NULL. Go types by rtype.Kind:
//
//	String → string        Bool → bool            Int32 → int32
//	Int64 → int64          Float32 → float32      Float64 → float64
//	Decimal → *apd.Decimal (github.com/cockroachdb/apd/v3; exact)
//	Timestamp → time.Time (UTC)                   Date → time.Time (00:00 UTC)
//	Bytes → []byte         List → []any           Map → map[string]any
//	Record → Row           Duration → time.Duration
type Row []any
