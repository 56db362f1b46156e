package spark

import (
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// secret records a secret and returns the Python expression reading it.
func (p *program) secret(s *ir.Secret) string {
	name := k8s.SecretEnvName(s)
	p.secrets[name] = s
	return "secret(" + pyStr(name) + ")"
}

// optExpr is a Python expression for a string option (a literal or a
// secret read).
func (p *program) optExpr(c *ir.Connector, key, def string) string {
	if s := c.Secret(key); s != nil {
		return p.secret(s)
	}
	return pyStr(c.String(key, def))
}

func (p *program) brokers(n *ir.Node, c *ir.Connector) string {
	if o, ok := c.Option("brokers"); ok {
		var l []string
		switch v := o.Value.(type) {
		case []any:
			for _, x := range v {
				l = append(l, fmt.Sprint(x))
			}
		case string:
			l = append(l, v)
		}
		if len(l) > 0 {
			return strings.Join(l, ",")
		}
	}
	conn := c.String("connection", "kafka")
	host := k8s.DeriveName(conn, k8s.DNSLabel) + ":9092"
	p.missing(n, "Kafka %q has no brokers (connection %q is not resolved without --env); using %s, a Service named after the connection.", n.Name, conn, host)
	return host
}

func (p *program) jdbcURL(n *ir.Node, c *ir.Connector) string {
	u := c.String("url", "")
	switch {
	case strings.HasPrefix(u, "jdbc:"):
		return u
	case strings.HasPrefix(u, "postgres://"):
		return "jdbc:postgresql://" + strings.TrimPrefix(u, "postgres://")
	case strings.HasPrefix(u, "postgresql://"):
		return "jdbc:postgresql://" + strings.TrimPrefix(u, "postgresql://")
	case u != "":
		p.diags = p.diags.Append(diag.Errorf(diag.SparkMissingOption, n.Pos, "Missing connector option", "%q: url %q is not a postgres:// URL.", n.Name, u))
		return u
	}
	conn := c.String("connection", c.Kind)
	host := "jdbc:postgresql://" + k8s.DeriveName(conn, k8s.DNSLabel) + ":5432/postgres"
	p.missing(n, "%q has no url (connection %q is not resolved without --env); using %s, a Service named after the connection.", n.Name, conn, host)
	return host
}

// jdbcOptions renders .option(...) calls for a JDBC table.
func (p *program) jdbcOptions(n *ir.Node, c *ir.Connector) string {
	p.packages[pkgPostgres] = true
	s := ".option(\"url\", " + pyStr(p.jdbcURL(n, c)) + ")"
	s += ".option(\"dbtable\", " + pyStr(c.String("table", "")) + ")"
	s += ".option(\"driver\", \"org.postgresql.Driver\")"
	if u := c.String("user", ""); u != "" {
		s += ".option(\"user\", " + pyStr(u) + ")"
	}
	if pw := c.Secret("password"); pw != nil {
		s += ".option(\"password\", " + p.secret(pw) + ")"
	}
	return s
}

func (p *program) s3Path(c *ir.Connector) string {
	path := c.String("path", "")
	if c.Kind != "s3" {
		return path
	}
	p.packages[pkgHadoopS3] = true
	if e := c.String("endpoint", ""); e != "" {
		p.hadoop["fs.s3a.endpoint"] = e
	}
	if c.Bool("pathStyle", false) {
		p.hadoop["fs.s3a.path.style.access"] = "true"
	}
	if ak, sk := c.Secret("accessKey"), c.Secret("secretKey"); ak != nil && sk != nil {
		p.s3Creds = [2]*ir.Secret{ak, sk}
		p.hadoop["fs.s3a.aws.credentials.provider"] = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
	}
	return "s3a://" + c.String("bucket", "") + "/" + strings.TrimPrefix(path, "/")
}

// staticRead is a batch read of a table (sources in batch mode, lookups).
func (p *program) staticRead(n *ir.Node, c *ir.Connector) string {
	switch c.Kind {
	case "postgres", "timescale":
		if q := c.String("query", ""); q != "" {
			return "spark.read.format(\"jdbc\")" + strings.Replace(p.jdbcOptions(n, c), ".option(\"dbtable\", "+pyStr(c.String("table", ""))+")", ".option(\"query\", "+pyStr(q)+")", 1) + ".load()"
		}
		return "spark.read.format(\"jdbc\")" + p.jdbcOptions(n, c) + ".load()"
	case "mongodb":
		p.packages[pkgMongo] = true
		return "spark.read.format(\"mongodb\").option(\"connection.uri\", " + p.optExpr(c, "uri", "mongodb://mongodb:27017") + ").option(\"database\", " + pyStr(c.String("database", "")) + ").option(\"collection\", " + pyStr(c.String("collection", "")) + ").load()"
	}
	p.connErr(n, "Spark has no %s table reader for %q; supported: postgres, timescale, mongodb.", c.Kind, n.Name)
	return "spark.createDataFrame([], \"x string\")"
}

func fileFormat(n *ir.Node, c *ir.Connector, p *program) string {
	switch c.Format {
	case "", "parquet":
		if c.Kind == "file" && c.Format == "" {
			return "json"
		}
		return "parquet"
	case "json", "jsonl":
		return "json"
	case "avro":
		p.avro = true
		p.packages[pkgAvro+p.sparkVersion()] = true
		return "avro"
	case "csv":
		return "csv"
	}
	p.connErr(n, "Format %q is not supported for files on Spark.", c.Format)
	return "parquet"
}

func (p *program) sparkVersion() string { return p.opts.Setting(SetVersion, DefaultVersion) }

func (p *program) source(n *ir.Node, op *ir.Source) {
	schema := op.Schema
	if schema == nil {
		schema = n.Out
	}
	st, err := structType(schema, "    ")
	if err != nil {
		p.diags = p.diags.Append(diag.Errorf(diag.UnsupportedType, n.Pos, "Unsupported type on Spark", "Source %q: %v.", n.Name, err))
	}
	id := fn(n.ID)
	wmark := ""
	if op.EventTime != "" && !p.batch {
		wmark = fmt.Sprintf("\ndf = df.withWatermark(%s, str(%d + wm) + \" milliseconds\")", pyStr(sqlIdent(op.EventTime)), op.MaxOutOfOrderness.Milliseconds())
	}
	read := "spark.readStream"
	if p.batch || op.Bounded {
		read = "spark.read"
	}
	c := &op.Connector
	switch c.Kind {
	case "kafka":
		p.kafkaSource(n, op, schema, st, read, wmark)
		return
	case "s3", "file":
		f := fileFormat(n, c, p)
		opts := ""
		switch op.OnError {
		case ir.SkipOnError:
			opts += ".option(\"mode\", \"DROPMALFORMED\")"
		case ir.DeadLetterErr:
			p.unsupported(n, "Dead letters from %s files are not supported on Spark; use policy fail or skip.", c.Kind)
		default:
			opts += ".option(\"mode\", \"FAILFAST\")"
		}
		if f == "csv" && c.Bool("header", false) {
			opts += ".option(\"header\", \"true\")"
		}
		p.defs = append(p.defs, "SCHEMA_"+id+" = "+st+"\n")
		p.def(n, "df = "+read+".schema(SCHEMA_"+id+").format("+pyStr(f)+")"+opts+".load("+pyStr(p.s3Path(c))+")"+wmark+"\nreturn df")
	case "postgres", "timescale", "mongodb":
		if read == "spark.readStream" {
			p.connErr(n, "Spark cannot stream from %s (%q); read it in batch mode (bounded: true or mode: batch).", c.Kind, n.Name)
		}
		p.def(n, "df = "+p.staticRead(n, c)+".select("+selectCols(schema, "")+")"+wmark+"\nreturn df")
	default:
		p.connErr(n, "Spark has no %s source for %q; supported: kafka, s3, file, postgres, timescale, mongodb.", c.Kind, n.Name)
	}
}

func (p *program) kafkaSource(n *ir.Node, op *ir.Source, schema *rtype.Type, st, read, wmark string) {
	c := &op.Connector
	id := fn(n.ID)
	p.packages[pkgKafka+p.sparkVersion()] = true
	start := c.String("startingOffsets", "latest")
	if start == "committed" {
		p.connErr(n, "Kafka %q starts from committed offsets; Spark keeps its offsets in the query checkpoint and starts new queries at latest or earliest.", n.Name)
	}
	var r strings.Builder
	fmt.Fprintf(&r, "raw = (%s.format(\"kafka\")\n", read)
	fmt.Fprintf(&r, "    .option(\"kafka.bootstrap.servers\", %s)\n", pyStr(p.brokers(n, c)))
	fmt.Fprintf(&r, "    .option(\"subscribe\", %s)\n", pyStr(c.String("topic", "")))
	fmt.Fprintf(&r, "    .option(\"startingOffsets\", %s)\n", pyStr(start))
	if read == "spark.read" {
		r.WriteString("    .option(\"endingOffsets\", \"latest\")\n")
	}
	mechanism := ""
	if o, ok := c.Option("properties"); ok {
		if props, ok := o.Value.([]ir.Option); ok {
			for _, pr := range props {
				if v, ok := pr.Value.(string); ok {
					fmt.Fprintf(&r, "    .option(%s, %s)\n", pyStr("kafka."+pr.Key), pyStr(v))
					if pr.Key == "sasl.mechanism" {
						mechanism = v
					}
				}
			}
		}
	}
	if user := c.String("username", ""); user != "" {
		if pw := c.Secret("password"); pw != nil {
			if mechanism == "" {
				mechanism = "PLAIN"
				fmt.Fprintf(&r, "    .option(\"kafka.sasl.mechanism\", \"PLAIN\")\n")
			}
			module := "org.apache.kafka.common.security.plain.PlainLoginModule"
			if strings.HasPrefix(mechanism, "SCRAM-") {
				module = "org.apache.kafka.common.security.scram.ScramLoginModule"
			}
			q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
			// The password is formatted in at run time; the template holds
			// no user text that % could misread.
			fmt.Fprintf(&r, "    .option(\"kafka.sasl.jaas.config\", %s %% (%s, %s))\n",
				pyStr(module+" required username=\"%s\" password=\"%s\";"), pyStr(q.Replace(user)), "jaas_quote("+p.secret(pw)+")")
		} else {
			p.diags = p.diags.Append(diag.Errorf(diag.SparkMissingOption, n.Pos, "Missing connector option", "Kafka %q has a username but no password secret.", n.Name))
		}
	}
	r.WriteString("    .load())\n")
	corrupt := fresh("_corrupt_record", schema)
	withCorrupt := rtype.RecordOf(append(append([]rtype.Field{}, schema.Fields...), rtype.Field{Name: corrupt, Type: rtype.StringType, Nullable: true})...)
	format := c.Format
	if format == "" {
		format = "json"
	}
	var decode string
	valid := []string{colExpr("", "_v") + ".isNotNull()"}
	switch format {
	case "json":
		st2, _ := structType(withCorrupt, "    ")
		p.defs = append(p.defs, "SCHEMA_"+id+" = "+st2+"\n")
		decode = "F.from_json(F.col(\"value\").cast(\"string\"), SCHEMA_" + id + ", {\"mode\": \"PERMISSIVE\", \"columnNameOfCorruptRecord\": " + pyStr(corrupt) + "})"
		valid = append(valid, colExpr("", "_v", corrupt)+".isNull()")
	case "avro":
		if c.String("schemaRegistry", "") != "" {
			p.connErr(n, "Kafka %q uses a schema registry (Confluent wire format), which open-source Spark's from_avro cannot read.", n.Name)
		}
		p.avro = true
		p.packages[pkgAvro+p.sparkVersion()] = true
		as, err := avroSchema(schema, n.Name)
		if err != nil {
			p.diags = p.diags.Append(diag.Errorf(diag.UnsupportedType, n.Pos, "Unsupported type on Spark", "Source %q: %v.", n.Name, err))
		}
		p.defs = append(p.defs, "AVRO_"+id+" = "+pyStr(as)+"\n")
		decode = "from_avro(F.col(\"value\"), AVRO_" + id + ", {\"mode\": \"PERMISSIVE\"})"
	case "raw":
		if len(schema.Fields) != 1 {
			p.unsupported(n, "Raw Kafka values in %q fit a schema of exactly one string or bytes field.", n.Name)
		} else {
			decode = "F.struct(F.col(\"value\").cast(" + pyStr(castName(schema.Fields[0].Type)) + ").alias(" + pyStr(schema.Fields[0].Name) + "))"
		}
	default:
		p.connErr(n, "Kafka format %q is not supported on Spark.", format)
	}
	// A record fits the schema when it decodes and its required fields are
	// present.
	for _, f := range schema.Fields {
		if !f.Nullable {
			valid = append(valid, colExpr("", "_v", f.Name)+".isNotNull()")
		}
	}
	p.defs = append(p.defs, fmt.Sprintf("@functools.cache\ndef %s_decoded():\n    %s\n    return raw.select(\"topic\", \"partition\", \"offset\", \"timestamp\", \"value\", %s.alias(\"_v\"))\n\n\ndef %s_valid():\n    return (\n        %s\n    )\n",
		id, strings.ReplaceAll(strings.TrimRight(r.String(), "\n"), "\n", "\n    "), decode, id, strings.Join(valid, "\n        & ")))
	var filter string
	switch op.OnError {
	case ir.SkipOnError, ir.DeadLetterErr:
		filter = id + "_valid()"
	default:
		msg := "rtsapc: a record of source " + n.Name + " does not decode or fit the schema"
		filter = "F.when(" + id + "_valid(), F.lit(True)).otherwise(F.raise_error(F.lit(" + pyStr(msg) + ")))"
	}
	var items []string
	for _, f := range schema.Fields {
		items = append(items, colExpr("", "_v", f.Name)+".alias("+pyStr(f.Name)+")")
	}
	p.def(n, "df = "+id+"_decoded().filter("+filter+").select(\n    "+strings.Join(items, ",\n    ")+",\n)"+wmark+"\nreturn df")
	if op.OnError == ir.DeadLetterErr {
		p.defs = append(p.defs, fmt.Sprintf("@functools.cache\ndef %s_dead(wm):\n    return %s_decoded().filter(~%s_valid()).select(\n        F.lit(%s).alias(\"source\"),\n        F.col(\"topic\"),\n        F.col(\"partition\"),\n        F.col(\"offset\"),\n        F.col(\"value\").alias(\"payload\"),\n        F.lit(\"record does not decode or fit the schema\").alias(\"error\"),\n        F.col(\"timestamp\").alias(\"received_at\"),\n    )\n",
			id, id, id, pyStr(n.Name)))
	}
}

// sink writes the query that feeds a sink.
func (p *program) sink(n *ir.Node, op *ir.Sink) {
	in := p.pl.Node(n.Inputs[0])
	c := &op.Connector
	schema := n.Out
	if schema == nil {
		schema = in.Out
	}
	mode := "append"
	if p.updating[in.ID] {
		mode = "update"
		if len(op.Key) == 0 {
			p.unsupported(n, "Sink %q receives updates (an unwindowed aggregate upstream) but has no key; give it key fields so rows are upserted.", n.Name)
		}
	}
	id := fn(n.ID)
	ck := "CHECKPOINTS + " + pyStr("/"+k8s.DeriveName(n.Name, k8s.DNSLabel))
	var b strings.Builder
	fmt.Fprintf(&b, "def start_%s():\n", id)
	fmt.Fprintf(&b, "    df = %s(0).select(%s)\n", fn(in.ID), selectCols(schema, ""))
	stream := func(format, opts string) {
		if p.batch {
			fmt.Fprintf(&b, "    (df.write.format(%s)%s\n        .mode(\"append\")\n        .save())\n", pyStr(format), opts)
			return
		}
		fmt.Fprintf(&b, "    return (df.writeStream.format(%s)%s\n        .option(\"checkpointLocation\", %s)\n        .outputMode(%s)\n        .queryName(%s)\n        .start())\n",
			pyStr(format), opts, ck, pyStr(mode), pyStr(p.pl.Name+"/"+n.Name))
	}
	var cols []string
	for _, f := range schema.Fields {
		cols = append(cols, colExpr("", f.Name))
	}
	switch c.Kind {
	case "kafka", "upsert-kafka":
		p.packages[pkgKafka+p.sparkVersion()] = true
		enc := "F.to_json"
		switch c.Format {
		case "avro":
			if c.String("schemaRegistry", "") != "" {
				p.connErr(n, "Kafka %q uses a schema registry (Confluent wire format), which open-source Spark's to_avro cannot write.", n.Name)
			}
			p.avro = true
			p.packages[pkgAvro+p.sparkVersion()] = true
			enc = "to_avro"
		case "", "json":
		default:
			p.connErr(n, "Kafka format %q is not supported on Spark sinks.", c.Format)
		}
		items := enc + "(F.struct(" + strings.Join(cols, ", ") + ")).alias(\"value\")"
		if len(op.Key) > 0 {
			var keys []string
			for _, k := range op.Key {
				keys = append(keys, colExpr("", k))
			}
			items = enc + "(F.struct(" + strings.Join(keys, ", ") + ")).alias(\"key\"), " + items
		}
		fmt.Fprintf(&b, "    df = df.select(%s)\n", items)
		stream("kafka", "\n        .option(\"kafka.bootstrap.servers\", "+pyStr(p.brokers(n, c))+")\n        .option(\"topic\", "+pyStr(c.String("topic", ""))+")")
	case "postgres", "timescale":
		p.jdbcSink(n, op, schema, &b, ck, mode)
	case "s3", "file":
		if mode != "append" {
			p.unsupported(n, "Sink %q writes files, which are append-only, but receives updates.", n.Name)
		}
		f := fileFormat(n, c, p)
		opts := "\n        .option(\"path\", " + pyStr(p.s3Path(c)) + ")"
		if comp := c.String("compression", ""); comp != "" {
			opts += "\n        .option(\"compression\", " + pyStr(map[string]string{"snappy": "snappy", "zstd": "zstd", "gzip": "gzip", "none": "none"}[comp]) + ")"
		}
		if o, ok := c.Option("partitionBy"); ok {
			var parts []string
			if l, ok := o.Value.([]any); ok {
				for _, x := range l {
					parts = append(parts, pyStr(fmt.Sprint(x)))
				}
			}
			opts += "\n        .partitionBy(" + strings.Join(parts, ", ") + ")"
		}
		stream(f, opts)
	case "mongodb":
		p.packages[pkgMongo] = true
		opts := "\n        .option(\"connection.uri\", " + p.optExpr(c, "uri", "mongodb://mongodb:27017") + ")\n        .option(\"database\", " + pyStr(c.String("database", "")) + ")\n        .option(\"collection\", " + pyStr(c.String("collection", "")) + ")"
		if len(op.Key) > 0 {
			opts += "\n        .option(\"operationType\", \"replace\")\n        .option(\"idFieldList\", " + pyStr(strings.Join(op.Key, ",")) + ")"
		}
		stream("mongodb", opts)
	case "stdout":
		if p.batch {
			b.WriteString("    df.show(truncate=False)\n")
		} else {
			stream("console", "\n        .option(\"truncate\", \"false\")")
		}
	default:
		p.connErr(n, "Spark has no %s sink for %q; supported: kafka, postgres, timescale, s3, file, mongodb, stdout.", c.Kind, n.Name)
	}
	p.defs = append(p.defs, b.String())
	p.starts = append(p.starts, "start_"+id+"()")
}

// jdbcSink appends or upserts through foreachBatch: each micro-batch is
// written to a staging table, then merged with INSERT … ON CONFLICT in one
// statement, so a replayed batch upserts the same rows again.
func (p *program) jdbcSink(n *ir.Node, op *ir.Sink, schema *rtype.Type, b *strings.Builder, ck, mode string) {
	c := &op.Connector
	id := fn(n.ID)
	table := c.String("table", "")
	if table == "" {
		p.diags = p.diags.Append(diag.Errorf(diag.SparkMissingOption, n.Pos, "Missing connector option", "%q needs a table.", n.Name))
	}
	opts := p.jdbcOptions(n, c)
	if bs := c.Int("batchSize", 0); bs > 0 {
		opts += ".option(\"batchsize\", " + pyStr(fmt.Sprint(bs)) + ")"
	}
	var body strings.Builder
	fmt.Fprintf(&body, "def write_%s(df, batch_id):\n", id)
	if len(op.Key) == 0 {
		fmt.Fprintf(&body, "    df.write.format(\"jdbc\")%s.mode(\"append\").save()\n", opts)
	} else {
		stage := table + "_rtsap_stage"
		var colsQ, sets, keys []string
		for _, f := range schema.Fields {
			colsQ = append(colsQ, pgIdent(f.Name))
		}
		isKey := map[string]bool{}
		for _, k := range op.Key {
			keys = append(keys, pgIdent(k))
			isKey[k] = true
		}
		for _, f := range schema.Fields {
			if !isKey[f.Name] {
				sets = append(sets, pgIdent(f.Name)+" = EXCLUDED."+pgIdent(f.Name))
			}
		}
		action := "DO NOTHING"
		if len(sets) > 0 {
			action = "DO UPDATE SET " + strings.Join(sets, ", ")
		}
		merge := "INSERT INTO " + pgTable(table) + " (" + strings.Join(colsQ, ", ") + ") SELECT " + strings.Join(colsQ, ", ") + " FROM " + pgTable(stage) + " ON CONFLICT (" + strings.Join(keys, ", ") + ") " + action
		stageOpts := strings.Replace(opts, ".option(\"dbtable\", "+pyStr(table)+")", ".option(\"dbtable\", "+pyStr(stage)+")", 1)
		fmt.Fprintf(&body, "    df.write.format(\"jdbc\")%s.mode(\"overwrite\").save()\n", stageOpts)
		url := p.jdbcURL(n, c)
		user := pyStr(c.String("user", ""))
		pw := "\"\""
		if s := c.Secret("password"); s != nil {
			pw = p.secret(s)
		}
		fmt.Fprintf(&body, "    conn = spark.sparkContext._jvm.java.sql.DriverManager.getConnection(%s, %s, %s)\n", pyStr(url), user, pw)
		body.WriteString("    try:\n")
		fmt.Fprintf(&body, "        conn.createStatement().executeUpdate(%s)\n", pyStr(merge))
		body.WriteString("    finally:\n        conn.close()\n")
	}
	p.defs = append(p.defs, body.String())
	if p.batch {
		fmt.Fprintf(b, "    write_%s(df, 0)\n", id)
		return
	}
	fmt.Fprintf(b, "    return (df.writeStream.foreachBatch(write_%s)\n        .option(\"checkpointLocation\", %s)\n        .outputMode(%s)\n        .queryName(%s)\n        .start())\n", id, ck, pyStr(mode), pyStr(p.pl.Name+"/"+n.Name))
}
