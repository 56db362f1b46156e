package sink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/pgsink"
)

// pgEnv returns the test DSN and a connection, skipping loudly without one.
func pgEnv(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	dsn := os.Getenv("RTSAPC_PG_DSN")
	if dsn == "" {
		t.Skip("SKIPPING POSTGRESQL TEST: RTSAPC_PG_DSN is not set (run `eval \"$(.ci/postgres.sh)\"`)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("RTSAPC_PG_DSN is set but PostgreSQL is unreachable: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return dsn, conn
}

// testSchema creates a fresh schema dropped at the end of the test.
func testSchema(t testing.TB, conn *pgx.Conn, name string) string {
	t.Helper()
	ctx := context.Background()
	q, err := pgsink.QuoteIdent(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+q+" CASCADE") })
	return name
}

func uniq(prefix string) string { return fmt.Sprintf("%s_%d", prefix, rand.Uint32()) }

func openWriter(t testing.TB, n *ir.Node, opts Options) Writer {
	t.Helper()
	w, err := New(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

func writeAll(t testing.TB, w Writer, rows []row.Row) {
	t.Helper()
	ctx := context.Background()
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func bars(t testing.TB, n int, vwapSuffix string) []row.Row {
	start := ts(t, "2026-11-26T09:30:00Z")
	var rows []row.Row
	for i := range n {
		ws := start.Add(time.Duration(i/3) * time.Minute)
		rows = append(rows, row.Row{ws, ws.Add(5 * time.Minute), []string{"AAPL", "MSFT", "价格"}[i%3],
			dec(t, fmt.Sprintf("%d.%s", 100+i, vwapSuffix)), int64(i * 10)})
	}
	return rows
}

// The upsert runs twice over the same keys, through the batched path and
// through COPY + merge: no duplicates, the second values win, decimals and
// timestamps come back exactly.
func TestPostgresUpsertTwice(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		rows int
	}{{"batch", 12}, {"copy", 300}} {
		t.Run(tc.name, func(t *testing.T) {
			schema := testSchema(t, conn, uniq("rtsapc_upsert"))
			n := sinkNode("postgres", "", barType, []string{"symbol", "window_start"}, map[string]any{
				"table": schema + ".vwap_5m", "createTable": true,
			})
			w := openWriter(t, n, Options{DSN: dsn})
			writeAll(t, w, bars(t, tc.rows, "123456"))
			// Within one batch the last row of a key wins too.
			second := bars(t, tc.rows, "654321")
			second = append(second, bars(t, tc.rows, "000001")...)
			writeAll(t, w, second)
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}

			var count, distinct int
			err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), count(DISTINCT (symbol, window_start)) FROM %q.vwap_5m`, schema)).Scan(&count, &distinct)
			if err != nil {
				t.Fatal(err)
			}
			if count != tc.rows || distinct != tc.rows {
				t.Fatalf("rows = %d, distinct keys = %d, want %d", count, distinct, tc.rows)
			}
			rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT window_start, window_end, symbol, vwap::text, volume FROM %q.vwap_5m ORDER BY volume`, schema))
			if err != nil {
				t.Fatal(err)
			}
			want := bars(t, tc.rows, "000001")
			i := 0
			for rows.Next() {
				var ws, we time.Time
				var sym, vwap string
				var vol int64
				if err := rows.Scan(&ws, &we, &sym, &vwap, &vol); err != nil {
					t.Fatal(err)
				}
				w := want[i]
				if !ws.Equal(w[0].(time.Time)) || !we.Equal(w[1].(time.Time)) || sym != w[2] || vol != w[4] {
					t.Errorf("row %d = %v %v %q %d, want %v", i, ws, we, sym, vol, w)
				}
				if wantD := fmt.Sprintf("%d.000001", 100+i); vwap != wantD {
					t.Errorf("row %d vwap = %s, want %s", i, vwap, wantD)
				}
				i++
			}
			if rows.Err() != nil || i != tc.rows {
				t.Fatalf("read %d rows (%v)", i, rows.Err())
			}
		})
	}
}

// Every kind of column: the DDL's exact types and the values read back.
func TestPostgresAllTypes(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_types"))
	n := sinkNode("postgres", "", allType, []string{"id"}, map[string]any{
		"table": schema + ".all", "createTable": true,
	})
	w := openWriter(t, n, Options{DSN: dsn})
	r := allRow(t, 1)
	r2 := allRow(t, 2)
	r2[1], r2[7], r2[14] = nil, dec(t, "-1234567.89"), nil
	writeAll(t, w, []row.Row{r, r2})
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Column types as PostgreSQL reports them.
	typRows, err := conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_attribute a WHERE a.attrelid = ($1::text)::regclass AND a.attnum > 0 ORDER BY a.attnum`,
		fmt.Sprintf("%q.all", schema))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for typRows.Next() {
		var name, typ string
		var notNull bool
		if err := typRows.Scan(&name, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s notnull=%v", name, typ, notNull))
	}
	want := []string{
		"id bigint notnull=true", "s text notnull=false", "b boolean notnull=true", "i32 integer notnull=true",
		"f32 real notnull=true", "f64 double precision notnull=true", "d numeric(38,10) notnull=true",
		"dsmall numeric(9,2) notnull=false", "t6 timestamp(6) with time zone notnull=true", "day date notnull=true",
		"raw bytea notnull=true", "dur interval notnull=true", "prices numeric(10,2)[] notnull=true",
		"tags jsonb notnull=true", "quote jsonb notnull=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var (
		s                           *string
		b                           bool
		i32                         int32
		f32                         float32
		f64                         float64
		d, dsmall, prices, tags, qt string
		t6, day                     time.Time
		raw                         []byte
		dur                         string
	)
	err = conn.QueryRow(ctx, fmt.Sprintf(`SELECT s, b, i32, f32, f64, d::text, coalesce(dsmall::text, 'NULL'), t6, day, raw,
		dur::text, prices::text, tags::text, coalesce(quote::text, 'NULL') FROM %q.all WHERE id = 1`, schema)).
		Scan(&s, &b, &i32, &f32, &f64, &d, &dsmall, &t6, &day, &raw, &dur, &prices, &tags, &qt)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("s", *s, r[1])
	check("b", b, true)
	check("i32", i32, int32(-7))
	check("f32", f32, float32(1.5))
	check("f64", f64, 0.1)
	check("d", d, "-12345678901234567890123456.0123456789")
	check("dsmall", dsmall, "NULL")
	if !t6.Equal(r[8].(time.Time)) {
		t.Errorf("t6 = %v, want %v", t6, r[8])
	}
	check("day", day.Format(time.DateOnly), "1969-07-20")
	check("raw", raw, []byte{0, 1, 2, 0xff})
	check("dur", dur, "00:01:30")
	check("prices", prices, "{1.50,NULL,-0.01}")
	check("tags", tags, `{"b": "x", "venue": "XNYS"}`)
	check("quote", qt, `{"at": "2026-11-26T09:30:00.123456789Z", "bid": 99.1000}`)

	var s2 *string
	var dsmall2, q2 string
	if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT s, dsmall::text, coalesce(quote::text, 'NULL') FROM %q.all WHERE id = 2`, schema)).
		Scan(&s2, &dsmall2, &q2); err != nil {
		t.Fatal(err)
	}
	if s2 != nil || dsmall2 != "-1234567.89" || q2 != "NULL" {
		t.Errorf("row 2: s=%v dsmall=%s quote=%s", s2, dsmall2, q2)
	}
}

// Values that PostgreSQL would round are refused before anything is sent.
func TestPostgresInexactValues(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_exact"))
	n := sinkNode("postgres", "", barType, []string{"symbol", "window_start"}, map[string]any{
		"table": schema + ".t", "createTable": true,
	})
	w := openWriter(t, n, Options{DSN: dsn})
	defer w.Close(ctx)
	base := bars(t, 1, "5")[0]
	for _, tc := range []struct {
		name string
		edit func(row.Row)
		want string
	}{
		{"decimal scale", func(r row.Row) { r[3] = dec(t, "1.0000001") }, "more than 6 fractional digits"},
		{"decimal precision", func(r row.Row) { r[3] = dec(t, "1234567890123.5") }, "more than 18 digits"},
		{"timestamp precision", func(r row.Row) { r[0] = ts(t, "2026-11-26T09:30:00.0001Z") }, "more than 3 fractional digits"},
		{"go type", func(r row.Row) { r[4] = 3 }, "Go type int where int64"},
		{"null key", func(r row.Row) { r[2] = nil }, `key column "symbol" is null`},
		{"nul byte", func(r row.Row) { r[2] = "a\x00b" }, "NUL byte"},
	} {
		r := append(row.Row(nil), base...)
		tc.edit(r)
		err := w.Write(ctx, []row.Row{r})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A decimal with fewer digits than the scale is padded, not refused.
	r := append(row.Row(nil), base...)
	r[3] = dec(t, "7")
	writeAll(t, w, []row.Row{r})
	var got string
	if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT vwap::text FROM %q.t`, schema)).Scan(&got); err != nil || got != "7.000000" {
		t.Fatalf("vwap = %q, %v", got, err)
	}
}

// Hostile names as schema, table and columns (and key), created, upserted
// twice and read back; names PostgreSQL cannot hold are refused up front.
func TestPostgresHostileNames(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	names := hostileNames(t)
	schema := testSchema(t, conn, uniq("rtsapc hostile \"schema\"\n;--"))
	for i, name := range names {
		rec := rtype.RecordOf(
			rtype.Field{Name: name, Type: rtype.StringType},
			rtype.Field{Name: name + "_v", Type: rtype.DecimalOf(10, 2), Nullable: true},
		)
		n := sinkNode("postgres", "", rec, []string{name}, map[string]any{
			"schema": schema, "table": name, "createTable": true,
		})
		w, err := New(n, Options{DSN: dsn})
		if len(name)+2 > 63 || strings.ContainsRune(name, 0) {
			if err == nil {
				t.Errorf("name %q: New succeeded; want a refusal (NUL or over 63 bytes)", name)
			}
			continue
		}
		if err != nil {
			t.Errorf("name %q: %v", name, err)
			continue
		}
		if err := w.Open(ctx); err != nil {
			t.Errorf("name %q: open: %v", name, err)
			continue
		}
		for pass := range 2 {
			r := row.Row{name, dec(t, fmt.Sprintf("%d.5%d", i, pass))}
			if err := w.Write(ctx, []row.Row{r}); err != nil {
				t.Fatalf("name %q: %v", name, err)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatalf("name %q: %v", name, err)
			}
		}
		w.Close(ctx)
		qt, _ := pgsink.Table{Schema: schema, Name: name}.Quoted()
		qc, _ := pgsink.QuoteIdent(name)
		var got, v string
		var count int
		err = conn.QueryRow(ctx, "SELECT "+qc+", "+quote(name+"_v")+"::text, count(*) OVER () FROM "+qt).Scan(&got, &v, &count)
		if err != nil {
			t.Errorf("name %q: read back: %v", name, err)
			continue
		}
		if got != name || v != fmt.Sprintf("%d.51", i) || count != 1 {
			t.Errorf("name %q: read %q %s (%d rows)", name, got, v, count)
		}
	}
	// The last table's name must be what was asked, not a truncation.
	var tables int
	conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema).Scan(&tables)
	if tables == 0 {
		t.Fatal("no tables created")
	}
}

func quote(s string) string { q, _ := pgsink.QuoteIdent(s); return q }

// Append-only sinks (no key) COPY straight into the table.
func TestPostgresAppend(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_append"))
	n := sinkNode("postgres", "", barType, nil, map[string]any{"table": schema + ".log", "createTable": true})
	w := openWriter(t, n, Options{DSN: dsn})
	writeAll(t, w, bars(t, 200, "5"))
	writeAll(t, w, bars(t, 3, "5"))
	w.Close(ctx)
	var count int
	conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %q.log`, schema)).Scan(&count)
	if count != 203 {
		t.Fatalf("count = %d, want 203", count)
	}
}

// Without TimescaleDB on the server, a hypertable request fails clearly;
// with it, the table becomes a hypertable.
func TestTimescaleHypertable(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_ts"))
	n := sinkNode("timescale", "", barType, []string{"symbol", "window_start"}, map[string]any{
		"table": schema + ".bars", "createTable": true,
		"hypertable": []ir.Option{{Key: "chunk", Value: "1d"}, {Key: "timeColumn", Value: "window_start"}},
	})
	w, err := New(n, Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	var available bool
	conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&available)
	err = w.Open(ctx)
	if !available {
		if err == nil || !strings.Contains(err.Error(), "TimescaleDB extension is not available") {
			t.Fatalf("open without TimescaleDB: err = %v", err)
		}
		// The call itself parses and binds its arguments; only the
		// functions are missing.
		q, args := pgsink.HypertableSQL(pgsink.ParseTable("", schema+".bars"), &pgsink.Hypertable{TimeColumn: "window_start", Chunk: 24 * time.Hour})
		var exists bool
		conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(schema)+".bars").Scan(&exists)
		if exists {
			t.Fatal("a plain table was left behind")
		}
		if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(schema)+"; CREATE TABLE "+quote(schema)+".bars (window_start timestamptz)"); err != nil {
			t.Fatal(err)
		}
		_, err := conn.Exec(ctx, q, args...)
		if err == nil || !strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "syntax") {
			t.Fatalf("create_hypertable without TimescaleDB: %v", err)
		}
		t.Logf("TimescaleDB is not installed on this server: checked the refusal and the call's syntax only (%v)", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, bars(t, 10, "5"))
	w.Close(ctx)
	var isHyper bool
	conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 AND hypertable_name = 'bars')`, schema).Scan(&isHyper)
	if !isHyper {
		t.Fatal("table is not a hypertable")
	}
}

func TestPostgresOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		key  []string
		opts map[string]any
		env  map[string]string
		want string
	}{
		{"no table", "postgres", nil, map[string]any{"url": "postgres://h/db"}, nil, "table option is required"},
		{"literal password", "postgres", nil, map[string]any{"url": "postgres://h/db", "table": "t", "password": "hunter2"}, nil, "must be a secret reference"},
		{"unset secret", "postgres", nil, map[string]any{"url": "postgres://h/db", "table": "t",
			"password": &ir.Secret{Name: "pg", Key: "password", Env: "PG_PW"}}, nil, "set $PG_PW (or $RTSAPC_SECRET_PG_PASSWORD)"},
		{"hypertable on postgres", "postgres", nil, map[string]any{"url": "postgres://h/db", "table": "t",
			"hypertable": []ir.Option{{Key: "timeColumn", Value: "window_start"}}}, nil, "needs the timescale connector"},
		{"hypertable key", "timescale", []string{"symbol"}, map[string]any{"url": "postgres://h/db", "table": "t", "createTable": true,
			"hypertable": []ir.Option{{Key: "timeColumn", Value: "window_start"}}}, nil, "must be part of the key"},
		{"bad key", "postgres", []string{"nope"}, map[string]any{"url": "postgres://h/db", "table": "t"}, nil, `key column "nope"`},
		{"bad url", "postgres", nil, map[string]any{"url": "postgres://u:secretpw@h:notaport/db", "table": "t"}, nil, "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := sinkNode(tc.kind, "", barType, tc.key, tc.opts)
			_, err := New(n, Options{LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
	// A secret resolves from its variable, then from the fallback name.
	n := sinkNode("postgres", "", barType, nil, map[string]any{"url": "postgres://h/db", "table": "t",
		"password": &ir.Secret{Name: "pg-main", Key: "password", Env: "PG_PW"}})
	for _, env := range []map[string]string{{"PG_PW": "x"}, {"RTSAPC_SECRET_PG_MAIN_PASSWORD": "x"}} {
		if _, err := New(n, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}); err != nil {
			t.Errorf("env %v: %v", env, err)
		}
	}
}

// The server ends the sink's session mid-run: that flush fails, the
// runner's replay of the bundle reconnects and upserts, and the table ends
// with each key once.
func TestPostgresReconnect(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_reconnect"))
	n := sinkNode("postgres", "", barType, []string{"symbol", "window_start"}, map[string]any{
		"table": schema + ".bars", "createTable": true, "batchSize": int64(1000),
	})
	// The writer's session is found by a unique application_name, so no
	// other test's session is touched.
	app := uniq("rtsapc_reconnect")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	w := openWriter(t, n, Options{DSN: dsn + sep + "application_name=" + app})
	defer w.Close(ctx)
	rows := bars(t, 100, "5")
	writeAll(t, w, rows[:60])
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d sessions: %v", killed, err)
	}
	if err := w.Write(ctx, rows[40:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err == nil {
		t.Fatal("flush on a terminated session succeeded")
	}
	// The bundle is replayed.
	writeAll(t, w, rows[40:])
	var count int
	conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %q.bars`, schema)).Scan(&count)
	if count != 100 {
		t.Fatalf("rows = %d, want 100", count)
	}
}

func TestPostgresHostileStrings(t *testing.T) {
	dsn, conn := pgEnv(t)
	ctx := context.Background()
	schema := testSchema(t, conn, uniq("rtsapc_strings"))
	w := openWriter(t, sinkNode("postgres", "", rtypeStringRecord(), []string{"s"}, map[string]any{
		"table": schema + ".s", "createTable": true}), Options{DSN: dsn})
	defer w.Close(ctx)
	want := map[int64]string{}
	for i, s := range hostileStrings(t) {
		err := w.Write(ctx, []row.Row{{int64(i), s}})
		if strings.ContainsRune(s, 0) {
			if err == nil || !strings.Contains(err.Error(), "NUL") {
				t.Errorf("%q: err = %v", s, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want[int64(i)] = s
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT i, s FROM %q.s`, schema))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var i int64
		var s string
		rows.Scan(&i, &s)
		if want[i] != s {
			t.Errorf("row %d = %q, want %q", i, s, want[i])
		}
		n++
	}
	if n != len(want) {
		t.Errorf("%d rows, want %d", n, len(want))
	}
}
