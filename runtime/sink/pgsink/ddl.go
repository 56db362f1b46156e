// Package pgsink writes rows to PostgreSQL and TimescaleDB with pgx:
// idempotent upserts on the declared key (INSERT … ON CONFLICT … DO UPDATE),
// batched through COPY into a session temp table and one merge statement,
// plus the table (and hypertable) DDL when asked.
package pgsink

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"rtsap.dev/rtsapc/compiler/rtype"
)

// maxIdent is PostgreSQL's NAMEDATALEN−1: longer identifiers are silently
// truncated by the server, so two long names could meet; we refuse them.
const maxIdent = 63

// QuoteIdent quotes a name as a PostgreSQL identifier. Every string is
// representable except those with a NUL byte, empty ones, invalid UTF-8
// and names over 63 bytes (which the server would truncate).
func QuoteIdent(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("empty identifier")
	case strings.IndexByte(name, 0) >= 0:
		return "", fmt.Errorf("identifier %q contains a NUL byte, which PostgreSQL cannot store", name)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("identifier %q is not valid UTF-8", name)
	case len(name) > maxIdent:
		return "", fmt.Errorf("identifier %q is %d bytes long; PostgreSQL keeps at most %d and would truncate it", name, len(name), maxIdent)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// Table is a possibly schema-qualified table name.
type Table struct {
	Schema string // "" = the connection's search_path
	Name   string
}

// ParseTable splits "schema.table" at the first dot; a name without a dot
// is unqualified. Names containing dots need the separate schema option
// (then the table name is taken verbatim).
func ParseTable(schema, table string) Table {
	if schema != "" {
		return Table{Schema: schema, Name: table}
	}
	if i := strings.IndexByte(table, '.'); i > 0 && i < len(table)-1 {
		return Table{Schema: table[:i], Name: table[i+1:]}
	}
	return Table{Name: table}
}

// Quoted returns "schema"."table" (or "table").
func (t Table) Quoted() (string, error) {
	n, err := QuoteIdent(t.Name)
	if err != nil {
		return "", fmt.Errorf("table: %w", err)
	}
	if t.Schema == "" {
		return n, nil
	}
	s, err := QuoteIdent(t.Schema)
	if err != nil {
		return "", fmt.Errorf("schema: %w", err)
	}
	return s + "." + n, nil
}

func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// ColumnType is the PostgreSQL type of a column of type t: exact where
// PostgreSQL can be exact, else an error (timestamps beyond microseconds).
func ColumnType(t *rtype.Type) (string, error) {
	switch t.Kind {
	case rtype.String:
		return "text", nil
	case rtype.Bool:
		return "boolean", nil
	case rtype.Int32:
		return "integer", nil
	case rtype.Int64:
		return "bigint", nil
	case rtype.Float32:
		return "real", nil
	case rtype.Float64:
		return "double precision", nil
	case rtype.Decimal:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale), nil
	case rtype.Timestamp:
		if t.Precision > 6 {
			return "", fmt.Errorf("%s: PostgreSQL timestamps keep at most microseconds (timestamp(6))", t)
		}
		return fmt.Sprintf("timestamptz(%d)", t.Precision), nil
	case rtype.Date:
		return "date", nil
	case rtype.Bytes:
		return "bytea", nil
	case rtype.Duration:
		return "interval", nil
	case rtype.List:
		if isArrayElem(t.Elem) {
			e, err := ColumnType(t.Elem)
			if err != nil {
				return "", err
			}
			return e + "[]", nil
		}
		return "jsonb", nil
	case rtype.Map, rtype.Record:
		return "jsonb", nil
	}
	return "", fmt.Errorf("type %s has no PostgreSQL column type", t)
}

// isArrayElem reports element types stored as native arrays; lists of
// lists, maps and records go to jsonb (PostgreSQL arrays are rectangular).
func isArrayElem(t *rtype.Type) bool {
	switch t.Kind {
	case rtype.List, rtype.Map, rtype.Record, rtype.Invalid:
		return false
	}
	return true
}

// Hypertable asks for a TimescaleDB hypertable partitioned on TimeColumn.
type Hypertable struct {
	TimeColumn string
	Chunk      time.Duration // 0: Timescale's default (7 days)
}

// CreateTableSQL returns the statements creating the table when missing:
// the schema, then the table with a primary key on the upsert key. The
// hypertable call is separate (see [Writer.Open]), as it needs the extension.
func CreateTableSQL(tbl Table, rec *rtype.Type, key []string, ht *Hypertable) ([]string, error) {
	qt, err := tbl.Quoted()
	if err != nil {
		return nil, err
	}
	var stmts []string
	if tbl.Schema != "" {
		qs, _ := QuoteIdent(tbl.Schema)
		stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS "+qs)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + qt + " (")
	for i, f := range rec.Fields {
		q, err := QuoteIdent(f.Name)
		if err != nil {
			return nil, fmt.Errorf("column: %w", err)
		}
		ct, err := ColumnType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n\t" + q + " " + ct)
		if !f.Nullable || contains(key, f.Name) {
			b.WriteString(" NOT NULL")
		}
	}
	if len(key) > 0 {
		qk, err := quoteList(key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		for _, k := range key {
			if _, ok := rec.Field(k); !ok {
				return nil, fmt.Errorf("key column %q is not a column of %s", k, tbl)
			}
		}
		b.WriteString(",\n\tPRIMARY KEY (" + qk + ")")
	}
	b.WriteString("\n)")
	stmts = append(stmts, b.String())
	if ht != nil {
		f, ok := rec.Field(ht.TimeColumn)
		if !ok {
			return nil, fmt.Errorf("hypertable time column %q is not a column of %s", ht.TimeColumn, tbl)
		}
		if f.Type.Kind != rtype.Timestamp && f.Type.Kind != rtype.Date && !f.Type.IsInteger() {
			return nil, fmt.Errorf("hypertable time column %q has type %s; TimescaleDB partitions on timestamps, dates or integers", ht.TimeColumn, f.Type)
		}
		// TimescaleDB requires every unique index to include the partitioning column.
		if len(key) > 0 && !contains(key, ht.TimeColumn) {
			return nil, fmt.Errorf("hypertable time column %q must be part of the key %q: TimescaleDB requires unique keys to include it", ht.TimeColumn, key)
		}
	}
	return stmts, nil
}

func quoteList(names []string) (string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		q, err := QuoteIdent(n)
		if err != nil {
			return "", err
		}
		out[i] = q
	}
	return strings.Join(out, ", "), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// UpsertSQL returns the INSERT for one row ($1…$n in column order) and the
// merge from the staging table: both insert, or on a key conflict update
// every non-key column; with no key they only insert.
func UpsertSQL(tbl Table, cols []string, key []string, stage string) (insert, merge string, err error) {
	qt, err := tbl.Quoted()
	if err != nil {
		return "", "", err
	}
	qc, err := quoteList(cols)
	if err != nil {
		return "", "", fmt.Errorf("column: %w", err)
	}
	var conflict string
	if len(key) > 0 {
		qk, err := quoteList(key)
		if err != nil {
			return "", "", fmt.Errorf("key: %w", err)
		}
		var sets []string
		for _, c := range cols {
			if contains(key, c) {
				continue
			}
			q, _ := QuoteIdent(c)
			sets = append(sets, q+" = EXCLUDED."+q)
		}
		if len(sets) == 0 {
			conflict = " ON CONFLICT (" + qk + ") DO NOTHING"
		} else {
			conflict = " ON CONFLICT (" + qk + ") DO UPDATE SET " + strings.Join(sets, ", ")
		}
	}
	ph := make([]string, len(cols))
	for i := range cols {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	insert = "INSERT INTO " + qt + " (" + qc + ") VALUES (" + strings.Join(ph, ", ") + ")" + conflict
	merge = "INSERT INTO " + qt + " (" + qc + ") SELECT " + qc + " FROM " + stage + conflict
	return insert, merge, nil
}
