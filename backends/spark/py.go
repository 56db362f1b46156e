package spark

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/rtype"
)

// pyStr writes s as a Python string literal. Everything outside printable
// ASCII is escaped (\n, \xNN, \uNNNN, \UNNNNNNNN), so no user text can end
// the literal, start a comment, or hide characters (bidi overrides,
// zero-width spaces) in the program text.
func pyStr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sqlIdent back-quotes a name for Spark SQL column resolution (F.col,
// F.expr): a dot would otherwise select a nested field.
func sqlIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// colExpr is F.col for a top-level column, optionally qualified by a
// DataFrame alias.
func colExpr(qual string, path ...string) string {
	var parts []string
	if qual != "" {
		parts = append(parts, sqlIdent(qual))
	}
	for _, p := range path {
		parts = append(parts, sqlIdent(p))
	}
	return "F.col(" + pyStr(strings.Join(parts, ".")) + ")"
}

// sparkType maps a column type to a pyspark.sql.types constructor.
func sparkType(t *rtype.Type) (string, error) {
	if t == nil {
		return "", fmt.Errorf("missing type")
	}
	switch t.Kind {
	case rtype.String:
		return "T.StringType()", nil
	case rtype.Bool:
		return "T.BooleanType()", nil
	case rtype.Int32:
		return "T.IntegerType()", nil
	case rtype.Int64:
		return "T.LongType()", nil
	case rtype.Float32:
		return "T.FloatType()", nil
	case rtype.Float64:
		return "T.DoubleType()", nil
	case rtype.Decimal:
		return fmt.Sprintf("T.DecimalType(%d, %d)", t.Precision, t.Scale), nil
	case rtype.Timestamp:
		if t.Precision > 6 {
			return "", fmt.Errorf("%s is finer than Spark's microsecond timestamps", t)
		}
		return "T.TimestampType()", nil
	case rtype.Date:
		return "T.DateType()", nil
	case rtype.Bytes:
		return "T.BinaryType()", nil
	case rtype.List:
		e, err := sparkType(t.Elem)
		return "T.ArrayType(" + e + ")", err
	case rtype.Map:
		e, err := sparkType(t.Elem)
		return "T.MapType(T.StringType(), " + e + ")", err
	case rtype.Record:
		return structType(t, "")
	case rtype.Duration:
		return "T.DayTimeIntervalType()", nil
	}
	return "", fmt.Errorf("type %s has no Spark equivalent", t)
}

// structType renders a StructType; indent > "" breaks fields onto lines.
func structType(t *rtype.Type, indent string) (string, error) {
	var fields []string
	for _, f := range t.Fields {
		ft, err := sparkType(f.Type)
		if err != nil {
			return "", fmt.Errorf("field %q: %v", f.Name, err)
		}
		fields = append(fields, fmt.Sprintf("T.StructField(%s, %s, %s)", pyStr(f.Name), ft, pyBool(f.Nullable)))
	}
	if indent == "" {
		return "T.StructType([" + strings.Join(fields, ", ") + "])", nil
	}
	return "T.StructType([\n" + indent + "    " + strings.Join(fields, ",\n"+indent+"    ") + ",\n" + indent + "])", nil
}

// castName is the type name Column.cast accepts.
func castName(t *rtype.Type) string {
	switch t.Kind {
	case rtype.String:
		return "string"
	case rtype.Bool:
		return "boolean"
	case rtype.Int32:
		return "int"
	case rtype.Int64:
		return "bigint"
	case rtype.Float32:
		return "float"
	case rtype.Float64:
		return "double"
	case rtype.Decimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case rtype.Timestamp:
		return "timestamp"
	case rtype.Date:
		return "date"
	case rtype.Bytes:
		return "binary"
	}
	return ""
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// sparkDuration writes a duration for withWatermark, window() and
// intervals: "5 seconds", "250 milliseconds".
func sparkDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0 seconds"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " days"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " minutes"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + " seconds"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + " milliseconds"
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + " microseconds"
}

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgTable quotes "schema.table".
func pgTable(s string) string {
	var parts []string
	for _, p := range strings.Split(s, ".") {
		parts = append(parts, pgIdent(p))
	}
	return strings.Join(parts, ".")
}
