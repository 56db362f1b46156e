package beamrt

import (
	"container/list"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/jackc/pgx/v5"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink"
)

func init() {
	register.DoFn4x1[context.Context, beam.EventTime, Rec, func(beam.EventTime, Rec), error](&lookupFn{})
	register.Emitter2[beam.EventTime, Rec]()
}

// LookupKinds are the table connectors the Beam runtime looks rows up in.
var LookupKinds = []string{"postgres", "timescale"}

// lookupPlan is a Lookup node compiled.
type lookupPlan struct {
	op     *ir.Lookup
	keys   []int // stream fields of the keys
	cols   []expr.Eval
	ctypes []*rtype.Type
	query  string
}

func compileLookup(p *Plan, n *ir.Node) (*lookupPlan, error) {
	op, ok := n.Op.(*ir.Lookup)
	if !ok {
		return nil, fmt.Errorf("node %q is not a lookup", n.Name)
	}
	in := inputType(p.Pipeline, n, 0)
	if in == nil || op.Schema == nil || op.Schema.Kind != rtype.Record || len(op.Schema.Fields) == 0 {
		return nil, fmt.Errorf("lookup %q: no stream or table record type", n.Name)
	}
	if len(op.On) == 0 {
		return nil, fmt.Errorf("lookup %q: no key", n.Name)
	}
	switch op.Table.Kind {
	case "postgres", "timescale":
	default:
		return nil, fmt.Errorf("lookup %q: table connector %q is not supported by the Beam runtime (%s)", n.Name, op.Table.Kind, strings.Join(LookupKinds, ", "))
	}
	l := &lookupPlan{op: op}
	var where []string
	for i, k := range op.On {
		j := fieldIndex(in, k.Left)
		if j < 0 || fieldIndex(op.Schema, k.Right) < 0 {
			return nil, fmt.Errorf("lookup %q: key %s = %s not in the stream and table", n.Name, k.Left, k.Right)
		}
		l.keys = append(l.keys, j)
		where = append(where, fmt.Sprintf("%s = $%d", pgIdent(k.Right), i+1))
	}
	// Every column comes back as its JSON text and is cast to the declared
	// type here: one conversion for every PostgreSQL type.
	var sel []string
	for _, f := range op.Schema.Fields {
		sel = append(sel, fmt.Sprintf("(to_jsonb(%s) #>> '{}')", pgIdent(f.Name)))
	}
	table := op.Table.String("table", "")
	if table == "" {
		return nil, fmt.Errorf("lookup %q: the table option is required", n.Name)
	}
	var qt []string
	for _, part := range strings.SplitN(table, ".", 2) {
		qt = append(qt, pgIdent(part))
	}
	l.query = fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(sel, ", "), strings.Join(qt, "."), strings.Join(where, " AND "))
	o := &expr.Options{Inputs: [2]*rtype.Type{in, op.Schema}}
	for _, c := range op.Columns {
		ev, err := expr.Compile(c.Expr, o)
		if err != nil {
			return nil, fmt.Errorf("lookup %q column %q: %v", n.Name, c.Name, err)
		}
		l.cols = append(l.cols, ev)
		l.ctypes = append(l.ctypes, c.Expr.Type)
	}
	return l, nil
}

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), `"`, `""`) + `"`
}

// lookupFn enriches each stream row with the table rows of its key, read
// through pgx at processing time (the table's current contents: a JDBC
// lookup join; asOf names the stream's time but a table without history
// has one version). A key's rows are cached for cacheTTL, up to cacheRows
// keys (least recently used out).
type lookupFn struct {
	NodeRef

	l     *lookupPlan
	conn  *pgx.Conn
	cache *lookupCache
	env   expr.Env
	c     *nodeCounters
}

func (fn *lookupFn) Setup(ctx context.Context) error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.l, err = compileLookup(p, n)
	if err != nil {
		return err
	}
	fn.c = Counters(n.Name)
	fn.cache = newLookupCache(fn.l.op.CacheRows, fn.l.op.CacheTTL)
	cfg, err := lookupConfig(&fn.l.op.Table, p.Options.DSN)
	if err != nil {
		return fmt.Errorf("lookup %q: %v", n.Name, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fn.conn, err = pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return fmt.Errorf("lookup %q: connecting to %s: %v", n.Name, fn.l.op.Table.Kind, err)
	}
	return nil
}

// lookupConfig resolves the table's url (or the run's DSN, or
// $RTSAPC_PG_DSN), user and password secret.
func lookupConfig(c *ir.Connector, dsn string) (*pgx.ConnConfig, error) {
	opts := &sink.Options{DSN: dsn}
	if dsn == "" {
		var err error
		if dsn, _, err = sink.Resolve(c, "url", opts); err != nil {
			return nil, err
		}
	}
	if dsn == "" {
		dsn = os.Getenv("RTSAPC_PG_DSN")
	}
	if dsn == "" {
		return nil, fmt.Errorf("no url option (and no DSN given)")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included
		return nil, fmt.Errorf("the url does not parse as a PostgreSQL connection string")
	}
	if u, ok, err := sink.Resolve(c, "user", opts); err != nil {
		return nil, err
	} else if ok {
		cfg.User = u
	}
	if s := c.Secret("password"); s != nil {
		pw, err := sink.ResolveSecret(s, opts)
		if err != nil {
			return nil, err
		}
		cfg.Password = pw
	}
	return cfg, nil
}

func (fn *lookupFn) Teardown() error {
	if fn.conn != nil {
		return fn.conn.Close(context.Background())
	}
	return nil
}

func (fn *lookupFn) ProcessElement(ctx context.Context, ts beam.EventTime, rec Rec, emit func(beam.EventTime, Rec)) error {
	fn.c.in.Add(1)
	l := fn.l
	args := make([]any, len(l.keys))
	kb := binary.AppendUvarint(nil, uint64(len(l.keys)))
	for i, j := range l.keys {
		if j >= len(rec.Row) {
			return fmt.Errorf("lookup: a row of %d values", len(rec.Row))
		}
		v := rec.Row[j]
		args[i] = pgArg(v)
		kb = row.AppendValue(kb, joinKey(v))
	}
	var matches []row.Row
	null := false
	for _, a := range args {
		null = null || a == nil // a null key matches no row
	}
	if !null {
		var ok bool
		if matches, ok = fn.cache.get(string(kb)); !ok {
			var err error
			if matches, err = fn.query(ctx, args); err != nil {
				return err
			}
			fn.cache.put(string(kb), matches)
		}
	}
	if len(matches) == 0 {
		if l.op.Type != ir.Left {
			return nil
		}
		matches = []row.Row{nil}
	}
	for _, m := range matches {
		fn.env.Rows[0], fn.env.Rows[1] = rec.Row, m
		out := make(row.Row, len(l.cols))
		for i, c := range l.cols {
			out[i] = expr.Coerce(c(&fn.env), l.ctypes[i])
		}
		fn.c.out.Add(1)
		emit(ts, Rec{Row: out, WM: rec.WM})
	}
	return nil
}

func (fn *lookupFn) query(ctx context.Context, args []any) ([]row.Row, error) {
	rows, err := fn.conn.Query(ctx, fn.l.query, args...)
	if err != nil {
		return nil, fmt.Errorf("lookup: %v", err)
	}
	defer rows.Close()
	fields := fn.l.op.Schema.Fields
	var out []row.Row
	for rows.Next() {
		texts := make([]*string, len(fields))
		dst := make([]any, len(fields))
		for i := range texts {
			dst[i] = &texts[i]
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("lookup: %v", err)
		}
		r := make(row.Row, len(fields))
		for i, s := range texts {
			if s != nil {
				r[i] = expr.Cast(*s, fields[i].Type)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lookup: %v", err)
	}
	return out, nil
}

// pgArg converts a key value to a pgx query argument.
func pgArg(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, int64, int32, float64, float32, bool, time.Time:
		return x
	}
	return expr.ToString(v)
}

// lookupCache is an LRU of a key's table rows with a time to live.
type lookupCache struct {
	max   int
	ttl   time.Duration
	order *list.List // front: most recent
	items map[string]*list.Element
}

type cacheEntry struct {
	key  string
	rows []row.Row
	at   time.Time
}

func newLookupCache(max int, ttl time.Duration) *lookupCache {
	return &lookupCache{max: max, ttl: ttl, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lookupCache) get(k string) ([]row.Row, bool) {
	if c.ttl <= 0 {
		return nil, false // no cache: every row reads the table
	}
	e, ok := c.items[k]
	if !ok {
		return nil, false
	}
	ce := e.Value.(*cacheEntry)
	if time.Since(ce.at) > c.ttl {
		c.order.Remove(e)
		delete(c.items, k)
		return nil, false
	}
	c.order.MoveToFront(e)
	return ce.rows, true
}

func (c *lookupCache) put(k string, rows []row.Row) {
	if c.ttl <= 0 {
		return
	}
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, rows: rows, at: time.Now()})
	max := c.max
	if max <= 0 {
		max = 10000
	}
	for c.order.Len() > max {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.items, e.Value.(*cacheEntry).key)
	}
}

// Lookup applies a Lookup node.
func Lookup(s beam.Scope, ref NodeRef, in beam.PCollection) (beam.PCollection, error) {
	p, n, err := ref.resolve()
	if err != nil {
		return beam.PCollection{}, err
	}
	if _, err := compileLookup(p, n); err != nil {
		return beam.PCollection{}, err
	}
	return beam.ParDo(s, &lookupFn{NodeRef: ref}, in), nil
}
