package pgsink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// Config configures a Writer.
type Config struct {
	// Conn is the parsed connection (pgx.ParseConfig of the url, with user
	// and password applied).
	Conn *pgx.ConnConfig
	// Table is the target; Record the rows' type (field order = row order).
	Table  Table
	Record *rtype.Type
	// TableSchema is the declared table type for DDL (nil: Record).
	TableSchema *rtype.Type
	// Key is the upsert key; empty appends.
	Key []string
	// CreateTable runs CREATE SCHEMA/TABLE IF NOT EXISTS at Open.
	CreateTable bool
	// Hypertable makes the table a TimescaleDB hypertable at Open.
	Hypertable *Hypertable
	// BatchRows: Write flushes when this many rows are pending (default 5000).
	BatchRows int
	// CopyMin: batches of at least this many rows go through COPY and a
	// merge; smaller ones through a pipelined batch of prepared upserts
	// (default 64).
	CopyMin int
}

// Writer writes rows to one table. It is not safe for concurrent use; each
// Beam DoFn instance opens its own (one connection each).
type Writer struct {
	cfg     Config
	conn    *pgx.Conn
	cols    []string
	conv    []converter
	keyIdx  []int
	insert  string
	merge   string
	stage   string
	staged  bool
	pending [][]any
	keys    map[string]int // key → index in pending
	keyBuf  []byte
}

// stageTable is the per-session temp table COPY fills before the merge.
const stageTable = "rtsapc_stage"

// New validates the configuration (names, types, key) without connecting.
func New(cfg Config) (*Writer, error) {
	if cfg.Conn == nil {
		return nil, errors.New("postgres: no connection configuration")
	}
	if cfg.Record == nil || cfg.Record.Kind != rtype.Record {
		return nil, fmt.Errorf("postgres %s: row type %s is not a record", cfg.Table, cfg.Record)
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 5000
	}
	if cfg.CopyMin <= 0 {
		cfg.CopyMin = 64
	}
	w := &Writer{cfg: cfg, cols: cfg.Record.FieldNames(), keys: map[string]int{}}
	table := cfg.TableSchema
	if table == nil {
		table = cfg.Record
	}
	for _, f := range cfg.Record.Fields {
		ct := f.Type
		if tf, ok := table.Field(f.Name); ok {
			ct = tf.Type // convert to the column's declared type
		}
		c, err := converterFor(ct)
		if err != nil {
			return nil, fmt.Errorf("postgres %s: column %q: %w", cfg.Table, f.Name, err)
		}
		w.conv = append(w.conv, c)
	}
	for _, k := range cfg.Key {
		i := indexOf(w.cols, k)
		if i < 0 {
			return nil, fmt.Errorf("postgres %s: key column %q is not a field of the rows (%s)", cfg.Table, k, cfg.Record)
		}
		w.keyIdx = append(w.keyIdx, i)
	}
	if cfg.CreateTable || cfg.Hypertable != nil {
		if _, err := CreateTableSQL(cfg.Table, table, cfg.Key, cfg.Hypertable); err != nil {
			return nil, fmt.Errorf("postgres %s: %w", cfg.Table, err)
		}
	}
	var err error
	w.stage, _ = QuoteIdent(stageTable)
	w.insert, w.merge, err = UpsertSQL(cfg.Table, w.cols, cfg.Key, w.stage)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", cfg.Table, err)
	}
	return w, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// Open connects and, when asked, creates the table and hypertable.
func (w *Writer) Open(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, w.cfg.Conn)
	if err != nil {
		return fmt.Errorf("postgres %s: connect: %w", w.cfg.Table, err)
	}
	w.conn = conn
	if w.cfg.CreateTable || w.cfg.Hypertable != nil {
		if err := w.createTable(ctx); err != nil {
			conn.Close(ctx)
			w.conn = nil
			return fmt.Errorf("postgres %s: %w", w.cfg.Table, err)
		}
	}
	return nil
}

func (w *Writer) createTable(ctx context.Context) error {
	table := w.cfg.TableSchema
	if table == nil {
		table = w.cfg.Record
	}
	stmts, err := CreateTableSQL(w.cfg.Table, table, w.cfg.Key, w.cfg.Hypertable)
	if err != nil {
		return err
	}
	if w.cfg.Hypertable != nil {
		// Before any DDL: without TimescaleDB, leave no plain table behind.
		if err := w.ensureTimescale(ctx); err != nil {
			return err
		}
	}
	if w.cfg.CreateTable {
		for _, s := range stmts {
			if _, err := w.conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("create table: %w", err)
			}
		}
	}
	if ht := w.cfg.Hypertable; ht != nil {
		if err := w.hypertable(ctx, ht); err != nil {
			return err
		}
	}
	return nil
}

// ensureTimescale creates the timescaledb extension when the server has it
// but the database does not.
func (w *Writer) ensureTimescale(ctx context.Context) error {
	var installed, available bool
	err := w.conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&installed, &available)
	if err != nil {
		return fmt.Errorf("hypertable: %w", err)
	}
	if installed {
		return nil
	}
	if !available {
		return fmt.Errorf("hypertable requested, but the TimescaleDB extension is not available on this server; install TimescaleDB or remove the hypertable option")
	}
	if _, err := w.conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS timescaledb"); err != nil {
		return fmt.Errorf("hypertable: create extension timescaledb: %w", err)
	}
	return nil
}

// hypertable converts the table (idempotently) with TimescaleDB's
// create_hypertable(…, by_range(column, interval)).
func (w *Writer) hypertable(ctx context.Context, ht *Hypertable) error {
	q, args := HypertableSQL(w.cfg.Table, ht)
	if _, err := w.conn.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("hypertable: %w", err)
	}
	return nil
}

// HypertableSQL is the idempotent create_hypertable call (TimescaleDB 2.13+
// by_range dimension builder) and its arguments: the quoted table name as
// regclass text, the time column, and the chunk interval when set.
func HypertableSQL(tbl Table, ht *Hypertable) (string, []any) {
	qt, _ := tbl.Quoted()
	if ht.Chunk > 0 {
		return "SELECT create_hypertable($1::regclass, by_range($2::name, $3::interval), if_not_exists => true)",
			[]any{qt, ht.TimeColumn, fmt.Sprintf("%d microseconds", ht.Chunk.Microseconds())}
	}
	return "SELECT create_hypertable($1::regclass, by_range($2::name), if_not_exists => true)", []any{qt, ht.TimeColumn}
}

// Write converts rows (failing on any inexact value) and queues them;
// queued rows are written once BatchRows are pending, and by Flush.
func (w *Writer) Write(ctx context.Context, rows []row.Row) error {
	for _, r := range rows {
		if len(r) != len(w.cols) {
			return fmt.Errorf("postgres %s: row has %d values, want %d", w.cfg.Table, len(r), len(w.cols))
		}
		vals := make([]any, len(r))
		for i, v := range r {
			if v == nil {
				continue
			}
			var err error
			if vals[i], err = w.conv[i](v); err != nil {
				return fmt.Errorf("postgres %s: column %q: %w", w.cfg.Table, w.cols[i], err)
			}
		}
		if len(w.keyIdx) > 0 {
			for _, i := range w.keyIdx {
				if r[i] == nil {
					return fmt.Errorf("postgres %s: key column %q is null", w.cfg.Table, w.cols[i])
				}
			}
			var err error
			w.keyBuf, err = keyOf(w.keyBuf[:0], w.cfg.Record, w.keyIdx, r)
			if err != nil {
				return fmt.Errorf("postgres %s: key: %w", w.cfg.Table, err)
			}
			// The last row of a key wins, as it would across batches.
			if j, ok := w.keys[string(w.keyBuf)]; ok {
				w.pending[j] = vals
				continue
			}
			w.keys[string(w.keyBuf)] = len(w.pending)
		}
		w.pending = append(w.pending, vals)
		if len(w.pending) >= w.cfg.BatchRows {
			if err := w.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush writes the queued rows in one transaction. On failure the queue is
// dropped (the transaction rolled back): the runner retries the bundle,
// and upserts make the replay harmless. A connection the server closed is
// reopened by the next Flush.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	if w.conn == nil {
		return fmt.Errorf("postgres %s: write before Open", w.cfg.Table)
	}
	defer func() {
		w.pending = w.pending[:0]
		clear(w.keys)
	}()
	if w.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, w.cfg.Conn)
		if err != nil {
			return fmt.Errorf("postgres %s: reconnect: %w", w.cfg.Table, err)
		}
		w.conn, w.staged = conn, false // the temp table went with the session
	}
	var err error
	if len(w.pending) >= w.cfg.CopyMin {
		err = w.flushCopy(ctx)
	} else {
		err = w.flushBatch(ctx)
	}
	if err != nil {
		return fmt.Errorf("postgres %s: %w", w.cfg.Table, err)
	}
	return nil
}

func (w *Writer) flushBatch(ctx context.Context) error {
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, vals := range w.pending {
			b.Queue(w.insert, vals...)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

func (w *Writer) flushCopy(ctx context.Context) error {
	qt, _ := w.cfg.Table.Quoted()
	if len(w.keyIdx) == 0 {
		// Append only: COPY straight into the table.
		_, err := w.conn.CopyFrom(ctx, w.cfg.Table.identifier(), w.cols, pgx.CopyFromRows(w.pending))
		return err
	}
	if !w.staged {
		// A session temp table shaped like the target, emptied at commit.
		qc, _ := quoteList(w.cols)
		_, err := w.conn.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+w.stage+
			" ON COMMIT DELETE ROWS AS SELECT "+qc+" FROM "+qt+" WITH NO DATA")
		if err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		w.staged = true
	}
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable}, w.cols, pgx.CopyFromRows(w.pending)); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		if _, err := tx.Exec(ctx, w.merge); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		return nil
	})
}

// identifier is the table as pgx.Identifier (pgx quotes each part).
func (t Table) identifier() pgx.Identifier {
	if t.Schema == "" {
		return pgx.Identifier{t.Name}
	}
	return pgx.Identifier{t.Schema, t.Name}
}

// Close flushes and closes the connection.
func (w *Writer) Close(ctx context.Context) error {
	if w.conn == nil {
		return nil
	}
	err := w.Flush(ctx)
	if cerr := w.conn.Close(ctx); err == nil {
		err = cerr
	}
	w.conn = nil
	return err
}

// String names the target for messages.
func (w *Writer) String() string {
	return "postgres " + strings.TrimSpace(w.cfg.Table.String())
}

// SetCopyMin changes the batch size from which COPY + merge is used
// (benchmarks compare the two paths).
func (w *Writer) SetCopyMin(n int) { w.cfg.CopyMin = n }
