package flink

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// kv is one option of a WITH clause.
type kv struct{ k, v string }

// createTable emits CREATE TABLE with columns from schema.
func (s *script) createTable(n *ir.Node, name string, schema *rtype.Type, pk, partitionBy []string, watermark string, opts []kv) {
	var lines []string
	if schema != nil {
		for _, f := range schema.Fields {
			t, err := sqlType(f.Type)
			if err != nil {
				s.errf(diag.UnsupportedType, n.Pos, "Unsupported type on Flink", "Field %q of %q: %v.", f.Name, n.Name, err)
			}
			lines = append(lines, ident(f.Name)+" "+t)
		}
	}
	if watermark != "" {
		lines = append(lines, watermark)
	}
	if len(pk) > 0 {
		var q []string
		for _, k := range pk {
			q = append(q, ident(k))
		}
		lines = append(lines, "PRIMARY KEY ("+strings.Join(q, ", ")+") NOT ENFORCED")
	}
	stmt := "CREATE TABLE " + ident(name) + " (\n  " + strings.Join(lines, ",\n  ") + "\n)"
	if len(partitionBy) > 0 {
		var q []string
		for _, k := range partitionBy {
			q = append(q, ident(k))
		}
		stmt += " PARTITIONED BY (" + strings.Join(q, ", ") + ")"
	}
	var w []string
	for _, o := range sortedKV(opts) {
		v := lit(o.v)
		if strings.Contains(o.v, "${RTSAP_SECRET_") && strings.HasPrefix(v, "U&") {
			s.errf(diag.FlinkRunnerUnsafeName, n.Pos, "Option cannot hold a secret on Flink",
				"Option %q of %q combines a secret with characters that need escaping in Flink SQL; the secret could not be substituted safely.", o.k, n.Name)
		}
		w = append(w, lit(o.k)+" = "+v)
	}
	stmt += " WITH (\n  " + strings.Join(w, ",\n  ") + "\n)"
	s.ddl = append(s.ddl, stmt)
}

func (s *script) source(n *ir.Node, op *ir.Source) {
	schema := op.Schema
	if schema == nil {
		schema = n.Out
	}
	wm := ""
	if et := op.EventTime; et != "" {
		f, ok := schema.Field(et)
		switch {
		case !ok:
			s.unsupported(n, "Event-time field %q is not in the schema of %q.", et, n.Name)
		case f.Type.Kind != rtype.Timestamp:
			s.errf(diag.UnsupportedType, n.Pos, "Unsupported type on Flink",
				"The event-time field %q of %q is %s; a Flink time attribute is a timestamp.", et, n.Name, f.Type)
		case f.Type.Precision > 3:
			// A Flink time attribute has at most millisecond precision. A
			// hidden computed column truncates the time to milliseconds,
			// as Beam's timestamps are, and becomes the time attribute;
			// the field itself keeps its precision for the data. Windows
			// are whole milliseconds, so the rows of each window are the
			// same.
			rt := fresh(et+"_rowtime", func(x string) bool { return hasField(schema, x) })
			s.timeCol[n.ID] = rt
			wm = ident(rt) + " AS CAST(" + ident(et) + " AS TIMESTAMP(3)),\n  "
			et = rt
		}
		wm += "WATERMARK FOR " + ident(et) + " AS " + plusInterval(ident(et), -op.MaxOutOfOrderness)
	}
	switch op.OnError {
	case ir.SkipOnError:
		s.unsupported(n, "Source %q skips malformed records; Flink's formats either fail or turn undecodable fields into nulls (keeping the record), which is not the same. Use onError policy \"fail\", or another engine.", n.Name)
	}
	opts := s.connectorOptions(n, &op.Connector, false, false, schema)
	if op.Bounded && op.Connector.Kind == "kafka" {
		opts = append(opts, kv{"scan.bounded.mode", "latest-offset"})
	}
	s.createTable(n, n.Name, schema, nil, nil, wm, opts)
}

func (s *script) sink(n *ir.Node, op *ir.Sink) {
	in := s.pl.Node(n.Inputs[0])
	c := &op.Connector
	if s.updating[in.ID] && len(op.Key) == 0 {
		s.unsupported(n, "Sink %q receives updates (from an unwindowed aggregate, top-N or dedupe upstream) but has no key; give it key fields so rows are upserted.", n.Name)
	}
	schema := n.Out
	if schema == nil {
		schema = in.Out
	}
	var partition []string
	if o, ok := c.Option("partitionBy"); ok {
		partition = stringList(o.Value)
	}
	opts := s.connectorOptions(n, c, false, true, schema)
	upsert := len(op.Key) > 0
	switch c.Kind {
	case "kafka", "upsert-kafka":
		if upsert {
			// Keyed writes are upserts: the upsert-kafka connector writes
			// the key fields as the Kafka key and deletes as tombstones.
			for i := range opts {
				if opts[i].k == "connector" {
					opts[i].v = "upsert-kafka"
				}
			}
			opts = kafkaKeyValueFormats(opts)
		}
	case "s3", "file":
		if s.updating[in.ID] {
			s.unsupported(n, "Sink %q writes files, which are append-only, but receives updates.", n.Name)
		}
		if upsert {
			s.unsupported(n, "Sink %q: files cannot be upserted by key.", n.Name)
		}
	}
	sel := "SELECT " + strings.Join(cols(schema, ""), ", ") + "\nFROM " + ident(in.Name)
	if c.Kind == "hbase" {
		sch, q := s.hbase(n, op, schema)
		schema, sel = sch, q
		upsert = true
	}
	pk := op.Key
	if c.Kind == "hbase" && len(op.Key) == 1 {
		pk = op.Key
	}
	s.createTable(n, n.Name, schema, pk, partition, "", opts)
	s.inserts = append(s.inserts, "INSERT INTO "+ident(n.Name)+"\n"+sel)
}

// hbase: the table is the row key plus one ROW column per family.
func (s *script) hbase(n *ir.Node, op *ir.Sink, schema *rtype.Type) (*rtype.Type, string) {
	if len(op.Key) != 1 {
		s.unsupported(n, "HBase sink %q needs exactly one key field (the row key).", n.Name)
		return schema, ""
	}
	fam := op.Connector.String("columnFamily", "")
	if fam == "" {
		s.errf(diag.FlinkMissingOption, n.Pos, "Missing connector option", "HBase sink %q needs columnFamily.", n.Name)
		fam = "cf"
	}
	key, ok := schema.Field(op.Key[0])
	if !ok {
		s.unsupported(n, "HBase sink %q: key field %q is not written.", n.Name, op.Key[0])
		return schema, ""
	}
	var rest []rtype.Field
	var items []string
	for _, f := range schema.Fields {
		if f.Name != key.Name {
			rest = append(rest, f)
			items = append(items, ident(f.Name))
		}
	}
	in := s.pl.Node(n.Inputs[0])
	out := rtype.RecordOf(key, rtype.Field{Name: fam, Type: rtype.RecordOf(rest...)})
	return out, "SELECT " + ident(key.Name) + ", ROW(" + strings.Join(items, ", ") + ")\nFROM " + ident(in.Name)
}

// kafkaKeyValueFormats turns 'format' options into key.* and value.* ones,
// as upsert-kafka requires.
func kafkaKeyValueFormats(opts []kv) []kv {
	var out []kv
	for _, o := range opts {
		switch {
		case o.k == "format":
			out = append(out, kv{"key.format", o.v}, kv{"value.format", o.v})
		case strings.HasPrefix(o.k, "avro-confluent.") || strings.HasPrefix(o.k, "json."):
			out = append(out, kv{"key." + o.k, o.v}, kv{"value." + o.k, o.v})
		case o.k == "scan.startup.mode" || o.k == "properties.group.id":
		default:
			out = append(out, o)
		}
	}
	return out
}

func stringList(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case []string:
		out = append(out, x...)
	case string:
		out = append(out, x)
	}
	return out
}

// secret records s and returns its placeholder, which the deployment's
// init container replaces with the value (quotes doubled) at start.
func (s *script) secret(sec *ir.Secret) string {
	name := k8s.SecretEnvName(sec)
	s.secrets[name] = sec
	return "${" + name + "}"
}

// optString returns a string option, or its secret placeholder.
func (s *script) optString(c *ir.Connector, key string) (string, bool) {
	o, ok := c.Option(key)
	if !ok {
		return "", false
	}
	switch v := o.Value.(type) {
	case *ir.Secret:
		return s.secret(v), true
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return fmt.Sprint(o.Value), true
}

func (s *script) missing(n *ir.Node, format string, args ...any) {
	s.diags = s.diags.Append(diag.Warningf(diag.FlinkMissingOption, n.Pos, "Missing connector option", format, args...))
}

// connectorOptions maps a connector to Flink SQL connector options.
func (s *script) connectorOptions(n *ir.Node, c *ir.Connector, lookup, sink bool, schema *rtype.Type) []kv {
	var o []kv
	add := func(k, v string) { o = append(o, kv{k, v}) }
	format := c.Format
	switch c.Kind {
	case "kafka", "upsert-kafka":
		if lookup {
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "Kafka cannot serve lookups in %q.", n.Name)
		}
		add("connector", "kafka")
		topic := c.String("topic", "")
		if topic == "" {
			s.errf(diag.FlinkMissingOption, n.Pos, "Missing connector option", "Kafka %q needs a topic.", n.Name)
		}
		add("topic", topic)
		add("properties.bootstrap.servers", s.brokers(n, c))
		mechanism := ""
		if o, ok := c.Option("properties"); ok {
			if props, ok := o.Value.([]ir.Option); ok {
				for _, p := range props {
					if v, ok := p.Value.(string); ok {
						add("properties."+p.Key, v)
						if p.Key == "sasl.mechanism" {
							mechanism = v
						}
					}
				}
			}
		}
		if user := c.String("username", ""); user != "" {
			pw := c.Secret("password")
			if pw == nil {
				s.errf(diag.FlinkMissingOption, n.Pos, "Missing connector option", "Kafka %q has a username but no password secret.", n.Name)
			} else {
				if mechanism == "" {
					mechanism = "PLAIN"
					add("properties.sasl.mechanism", mechanism)
				}
				// The |jaas placeholder is also escaped for the JAAS quotes.
				add("properties.sasl.jaas.config", jaasConfig(mechanism, user, strings.TrimSuffix(s.secret(pw), "}")+"|jaas}"))
			}
		}
		if !sink {
			group := c.String("group", "")
			if group == "" {
				group = "rtsap-" + s.pl.Name + "-" + n.Name
			}
			add("properties.group.id", group)
			switch c.String("startingOffsets", "latest") {
			case "earliest":
				add("scan.startup.mode", "earliest-offset")
			case "committed":
				add("scan.startup.mode", "group-offsets")
				add("properties.auto.offset.reset", "latest")
			default:
				add("scan.startup.mode", "latest-offset")
			}
		}
		if format == "" {
			format = "json"
		}
		switch format {
		case "json":
			add("format", "json")
			if !sink && schema != nil {
				// A record without a required field does not fit the
				// schema: fail, as onError "fail" says. With optional
				// fields Flink cannot tell which may be missing.
				optional := false
				for _, f := range schema.Fields {
					optional = optional || f.Nullable
				}
				if !optional {
					add("json.fail-on-missing-field", "true")
				}
			}
		case "avro":
			if url := c.String("schemaRegistry", ""); url != "" {
				add("format", "avro-confluent")
				add("avro-confluent.url", url)
			} else {
				add("format", "avro")
			}
		case "raw":
			if schema == nil || len(schema.Fields) != 1 {
				s.unsupported(n, "Raw Kafka values in %q fit a schema of exactly one string or bytes field.", n.Name)
			}
			add("format", "raw")
		default:
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "Kafka format %q is not supported on Flink.", format)
		}
	case "postgres", "timescale":
		add("connector", "jdbc")
		add("url", s.jdbcURL(n, c))
		table := c.String("table", "")
		if table == "" {
			s.errf(diag.FlinkMissingOption, n.Pos, "Missing connector option", "%q needs a table.", n.Name)
		}
		add("table-name", table)
		if u := c.String("user", ""); u != "" {
			add("username", u)
		}
		if pw := c.Secret("password"); pw != nil {
			add("password", s.secret(pw))
		}
		if b := c.Int("batchSize", 0); b > 0 && sink {
			add("sink.buffer-flush.max-rows", strconv.FormatInt(b, 10))
		}
		if q := c.String("query", ""); q != "" {
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "Flink's JDBC connector reads tables, not queries (%q); read the table and filter.", n.Name)
		}
	case "mongodb":
		add("connector", "mongodb")
		if uri, ok := s.optString(c, "uri"); ok {
			add("uri", uri)
		} else {
			s.missing(n, "MongoDB %q has no uri; using mongodb://mongodb:27017.", n.Name)
			add("uri", "mongodb://mongodb:27017")
		}
		add("database", c.String("database", ""))
		add("collection", c.String("collection", ""))
		if c.Bool("changeStream", false) {
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "Flink's MongoDB SQL connector does not read change streams (%q).", n.Name)
		}
	case "hbase":
		add("connector", "hbase-2.2")
		add("table-name", c.String("table", ""))
		zk := c.String("zookeeper", "")
		if zk == "" {
			zk = c.String("connection", "zookeeper") + ":2181"
			s.missing(n, "HBase %q has no zookeeper quorum; using %s (a Service named after the connection).", n.Name, zk)
		}
		add("zookeeper.quorum", zk)
	case "s3", "file":
		add("connector", "filesystem")
		p := c.String("path", "")
		if strings.ContainsAny(p, "{}") {
			s.unsupported(n, "Path %q of %q holds placeholders; Flink's filesystem connector partitions by columns (partitionBy) instead.", p, n.Name)
		}
		if c.Kind == "s3" {
			p = "s3://" + c.String("bucket", "") + "/" + strings.TrimPrefix(p, "/")
			if e := c.String("endpoint", ""); e != "" {
				s.s3Endpoint = e
			}
			s.s3PathStyle = s.s3PathStyle || c.Bool("pathStyle", false)
			if ak, sk := c.Secret("accessKey"), c.Secret("secretKey"); ak != nil && sk != nil {
				s.s3Creds = [2]*ir.Secret{ak, sk}
			}
		}
		add("path", p)
		switch format {
		case "", "parquet":
			add("format", "parquet")
			if comp := c.String("compression", ""); comp != "" {
				add("parquet.compression", map[string]string{"snappy": "SNAPPY", "zstd": "ZSTD", "gzip": "GZIP", "none": "UNCOMPRESSED"}[comp])
			}
		case "avro":
			add("format", "avro")
			if comp := c.String("compression", ""); comp != "" {
				codec := map[string]string{"snappy": "snappy", "zstd": "zstandard", "none": "null"}[comp]
				if codec == "" {
					s.unsupported(n, "Avro files have no %s codec on Flink.", comp)
				}
				add("avro.codec", codec)
			}
		case "json", "jsonl":
			add("format", "json")
		case "csv":
			add("format", "csv")
			if c.Bool("header", false) {
				s.unsupported(n, "CSV with a header line is not supported by Flink's csv format (%q).", n.Name)
			}
		default:
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "Format %q is not supported by Flink's filesystem connector.", format)
		}
		if r, ok := c.Option("rollover"); ok && sink {
			switch v := r.Value.(type) {
			case time.Duration:
				add("sink.rolling-policy.rollover-interval", durationOption(v))
			case string:
				if d, err := time.ParseDuration(v); err == nil {
					add("sink.rolling-policy.rollover-interval", durationOption(d))
				} else {
					s.unsupported(n, "rollover %q of %q is not a duration.", v, n.Name)
				}
			}
		}
	case "stdout":
		if !sink {
			s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink", "stdout is a sink only.")
		}
		add("connector", "print")
	default:
		s.errf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Flink",
			"Flink SQL has no %s connector for %q; supported: kafka, upsert-kafka, postgres, timescale, mongodb, hbase, s3, file, stdout.", c.Kind, n.Name)
	}
	return o
}

// jaasConfig is the Kafka client's JAAS line for a SASL mechanism.
func jaasConfig(mechanism, user, password string) string {
	module := "org.apache.kafka.common.security.plain.PlainLoginModule"
	if strings.HasPrefix(mechanism, "SCRAM-") {
		module = "org.apache.kafka.common.security.scram.ScramLoginModule"
	}
	q := func(x string) string { return strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), `"`, `\"`) }
	return module + ` required username="` + q(user) + `" password="` + password + `";`
}

func (s *script) brokers(n *ir.Node, c *ir.Connector) string {
	if o, ok := c.Option("brokers"); ok {
		if l := stringList(o.Value); len(l) > 0 {
			return strings.Join(l, ",")
		}
	}
	conn := c.String("connection", "kafka")
	host := k8s.DeriveName(conn, k8s.DNSLabel) + ":9092"
	s.missing(n, "Kafka %q has no brokers (connection %q is not resolved without --env); using %s, a Service named after the connection.", n.Name, conn, host)
	return host
}

// jdbcURL turns postgres://host:port/db into jdbc:postgresql://host:port/db.
func (s *script) jdbcURL(n *ir.Node, c *ir.Connector) string {
	u := c.String("url", "")
	switch {
	case strings.HasPrefix(u, "jdbc:"):
		return u
	case strings.HasPrefix(u, "postgres://"):
		return "jdbc:postgresql://" + strings.TrimPrefix(u, "postgres://")
	case strings.HasPrefix(u, "postgresql://"):
		return "jdbc:postgresql://" + strings.TrimPrefix(u, "postgresql://")
	case u != "":
		s.errf(diag.FlinkMissingOption, n.Pos, "Missing connector option", "%q: url %q is not a postgres:// URL.", n.Name, u)
		return u
	}
	conn := c.String("connection", c.Kind)
	host := "jdbc:postgresql://" + k8s.DeriveName(conn, k8s.DNSLabel) + ":5432/postgres"
	s.missing(n, "%q has no url (connection %q is not resolved without --env); using %s, a Service named after the connection.", n.Name, conn, host)
	return host
}
