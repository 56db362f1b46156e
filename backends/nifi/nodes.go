package nifi

import (
	"fmt"
	"regexp"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Property descriptors of the components used (names as NiFi 2.x declares
// them; older machine names are migrated by NiFi on import).
var (
	pRecordReader   = prop{name: "Record Reader", service: true}
	pRecordWriter   = prop{name: "Record Writer", service: true}
	pQRReader       = prop{name: "record-reader", display: "Record Reader", service: true}
	pQRWriter       = prop{name: "record-writer", display: "Record Writer", service: true}
	pQRZero         = prop{name: "include-zero-record-flowfiles", display: "Include Zero Record FlowFiles"}
	pKafkaConn      = prop{name: "Kafka Connection Service", service: true}
	pTopics         = prop{name: "Topics", el: true}
	pTopicFormat    = prop{name: "Topic Format"}
	pGroupID        = prop{name: "Group ID", el: true}
	pOffsetReset    = prop{name: "auto.offset.reset", display: "Auto Offset Reset"}
	pProcessing     = prop{name: "Processing Strategy"}
	pOutputStrategy = prop{name: "Output Strategy"}
	pCommit         = prop{name: "Commit Offsets"}
	pTopicName      = prop{name: "Topic Name", el: true}
	pPublishStrat   = prop{name: "Publish Strategy"}
	pMessageKey     = prop{name: "Message Key Field", el: true}
	pTransactions   = prop{name: "Transactions Enabled"}
	pAcks           = prop{name: "acks", display: "Delivery Guarantee"}
	pBootstrap      = prop{name: "bootstrap.servers", display: "Bootstrap Servers", el: true}
	pSecurity       = prop{name: "security.protocol", display: "Security Protocol"}
	pSaslMechanism  = prop{name: "sasl.mechanism", display: "SASL Mechanism"}
	pSaslUser       = prop{name: "sasl.username", display: "Username", el: true}
	pSaslPassword   = prop{name: "sasl.password", display: "Password", el: true, sensitive: true}
	pSchemaAccess   = prop{name: "Schema Access Strategy"}
	pSchemaText     = prop{name: "Schema Text", el: true}
	pSchemaWrite    = prop{name: "Schema Write Strategy"}
	pStartStrategy  = prop{name: "starting-field-strategy", display: "Starting Field Strategy"}
	pStartField     = prop{name: "starting-field-name", display: "Starting Field Name"}
	pHTTPMethod     = prop{name: "HTTP Method", el: true}
	pHTTPURL        = prop{name: "HTTP URL", el: true}
	pDBType         = prop{name: "Database Type"}
	pStatement      = prop{name: "Statement Type"}
	pDBCPService    = prop{name: "Database Connection Pooling Service", service: true}
	pSchemaName     = prop{name: "Schema Name", el: true}
	pTableName      = prop{name: "Table Name", el: true}
	pUpdateKeys     = prop{name: "Update Keys", el: true}
	pQuoteColumns   = prop{name: "Quote Column Identifiers"}
	pQuoteTable     = prop{name: "Quote Table Identifiers"}
	pDBURL          = prop{name: "Database Connection URL", el: true}
	pDBDriver       = prop{name: "Database Driver Class Name", el: true}
	pDBDriverLoc    = prop{name: "Database Driver Locations", el: true}
	pDBUser         = prop{name: "Database User", el: true}
	pDBPassword     = prop{name: "Password", sensitive: true}
	pMongoClient    = prop{name: "Client Service", service: true}
	pMongoDB        = prop{name: "Mongo Database Name", el: true}
	pMongoColl      = prop{name: "Mongo Collection Name", el: true}
	pMongoUpdKeys   = prop{name: "Update Key Fields"}
	pMongoURI       = prop{name: "Mongo URI", el: true}
	pMongoUser      = prop{name: "Database User", el: true}
	pMongoPassword  = prop{name: "Password", sensitive: true}
	pBucket         = prop{name: "Bucket", el: true}
	pObjectKey      = prop{name: "Object Key", el: true}
	pRegion         = prop{name: "Region"}
	pEndpoint       = prop{name: "Endpoint Override URL", el: true}
	pPathStyle      = prop{name: "Use Path Style Access"}
	pAWSCreds       = prop{name: "AWS Credentials Provider service", service: true}
	pAccessKey      = prop{name: "Access Key ID", el: true, sensitive: true}
	pSecretKey      = prop{name: "Secret Access Key", el: true, sensitive: true}
	pDefaultCreds   = prop{name: "Use Default Credentials"}
)

const (
	apiReader     = "org.apache.nifi.serialization.RecordReaderFactory"
	apiWriter     = "org.apache.nifi.serialization.RecordSetWriterFactory"
	narServiceAPI = "nifi-standard-services-api-nar"
	narRecords    = "nifi-record-serialization-services-nar"
	narStandard   = "nifi-standard-nar"
)

// recordsPath is a JSON path of plain field names; NiFi starts at the last.
var recordsPath = regexp.MustCompile(`^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.([A-Za-z_][A-Za-z0-9_]*)$`)

func (b *builder) node(n *ir.Node) {
	switch op := n.Op.(type) {
	case *ir.Source:
		b.source(n, op)
	case *ir.Filter:
		b.query(n, "SELECT * FROM FLOWFILE WHERE ", op.Where)
	case *ir.Map:
		b.project(n, op)
	case *ir.Union:
		for _, in := range n.Inputs {
			b.outs[n.ID] = append(b.outs[n.ID], b.outs[in]...)
		}
	case *ir.Sink:
		b.sink(n, op)
	default:
		b.errorf(diag.UnsupportedOperator, n.Pos, "Operator not supported by NiFi", "%s", unsupportedDetail(n))
	}
}

// schemaOf renders a record type, reporting what Avro cannot hold.
func (b *builder) schemaOf(n *ir.Node, t *rtype.Type) string {
	s, err := avroSchema(t)
	if err != nil {
		b.errorf(diag.UnsupportedType, n.Pos, "Record type not representable in NiFi", "Node %q: %v.", n.Name, err)
	}
	return s
}

// reader returns the record reader service for records of type t in format.
func (b *builder) reader(n *ir.Node, format string, t *rtype.Type, start ...string) *ControllerService {
	schema := b.schemaOf(n, t)
	if len(start) > 0 && start[0] != "" {
		// The records are an array inside the response: start there.
		return b.service("reader json "+start[0]+" "+schema, "JSON reader ("+n.Name+")", "org.apache.nifi.json.JsonTreeReader", narRecords,
			[]ServiceAPI{b.api(apiReader, narServiceAPI)}, func(s *ControllerService) {
				b.setS(s, pSchemaAccess, lit("schema-text-property"))
				b.setS(s, pSchemaText, lit(schema))
				b.setS(s, pStartStrategy, lit("NESTED_FIELD"))
				b.setS(s, pStartField, lit(start[0]))
			})
	}
	switch format {
	case "avro":
		return b.service("reader avro "+schema, "Avro reader ("+n.Name+")", "org.apache.nifi.avro.AvroReader", narRecords,
			[]ServiceAPI{b.api(apiReader, narServiceAPI)}, func(s *ControllerService) {
				b.setS(s, pSchemaAccess, lit("schema-text-property"))
				b.setS(s, pSchemaText, lit(schema))
			})
	}
	return b.service("reader json "+schema, "JSON reader ("+n.Name+")", "org.apache.nifi.json.JsonTreeReader", narRecords,
		[]ServiceAPI{b.api(apiReader, narServiceAPI)}, func(s *ControllerService) {
			b.setS(s, pSchemaAccess, lit("schema-text-property"))
			b.setS(s, pSchemaText, lit(schema))
		})
}

// writer returns the record writer service for records of type t in format.
// Writers take their schema from the IR, not from the query result, so field
// names and types are the ones the spec defines.
func (b *builder) writer(n *ir.Node, format string, t *rtype.Type) *ControllerService {
	schema := b.schemaOf(n, t)
	switch format {
	case "avro":
		return b.service("writer avro "+schema, "Avro writer ("+n.Name+")", "org.apache.nifi.avro.AvroRecordSetWriter", narRecords,
			[]ServiceAPI{b.api(apiWriter, narServiceAPI)}, func(s *ControllerService) {
				b.setS(s, pSchemaAccess, lit("schema-text-property"))
				b.setS(s, pSchemaText, lit(schema))
				b.setS(s, pSchemaWrite, lit("no-schema"))
			})
	case "parquet":
		return b.service("writer parquet "+schema, "Parquet writer ("+n.Name+")", "org.apache.nifi.parquet.ParquetRecordSetWriter", "nifi-parquet-nar",
			[]ServiceAPI{b.api(apiWriter, narServiceAPI)}, func(s *ControllerService) {
				b.setS(s, pSchemaAccess, lit("schema-text-property"))
				b.setS(s, pSchemaText, lit(schema))
			})
	}
	return b.service("writer json "+schema, "JSON writer ("+n.Name+")", "org.apache.nifi.json.JsonRecordSetWriter", narRecords,
		[]ServiceAPI{b.api(apiWriter, narServiceAPI)}, func(s *ControllerService) {
			b.setS(s, pSchemaAccess, lit("schema-text-property"))
			b.setS(s, pSchemaText, lit(schema))
			b.setS(s, pSchemaWrite, lit("no-schema"))
		})
}

func (b *builder) inputType(n *ir.Node) *rtype.Type {
	if len(n.Inputs) == 0 {
		return n.Out
	}
	return b.pl.Node(n.Inputs[0]).Out
}

func (b *builder) missing(n *ir.Node, what string) {
	b.errorf(diag.NiFiMissingOption, n.Pos, "Connector option missing for NiFi", "Node %q needs %s to be expressed as a NiFi flow.", n.Name, what)
}

func (b *builder) source(n *ir.Node, op *ir.Source) {
	c := &op.Connector
	schema := op.Schema
	if schema == nil {
		schema = n.Out
	}
	switch c.Kind {
	case "kafka":
		p := b.processor(n, "consume", n.Name, "org.apache.nifi.kafka.processors.ConsumeKafka", "nifi-kafka-nar", relSuccess, relParseFailure)
		topic := option(c, optTopic...)
		if !topic.set {
			b.missing(n, "a topic")
		}
		if sr := option(c, "schemaRegistry"); sr.set {
			b.errorf(diag.UnsupportedConnector, sr.pos, "Schema registry not supported by the NiFi backend",
				"Avro through a Confluent schema registry is not generated for NiFi yet; use format json or plain Avro without a registry.")
		}
		b.setP(p, pKafkaConn, lit(b.kafkaService(n, c).Identifier))
		b.setP(p, pTopics, topic)
		b.setP(p, pTopicFormat, lit("names"))
		group := option(c, optGroup...)
		if !group.set {
			group = lit("rtsapc-" + b.pl.Name)
		}
		b.setP(p, pGroupID, group)
		if off := option(c, optOffset...); off.set {
			switch strings.ToLower(off.s) {
			case "earliest", "latest":
				b.setP(p, pOffsetReset, lit(strings.ToLower(off.s)))
			case "committed":
				// Resume from the group's offsets: what ConsumeKafka does.
			default:
				b.errorf(diag.UnsupportedConnector, off.pos, "Start offset not supported by NiFi", "ConsumeKafka starts from earliest or latest; %q is neither.", off.s)
			}
		}
		b.setP(p, pProcessing, lit("RECORD"))
		b.setP(p, pOutputStrategy, lit("USE_VALUE"))
		b.setP(p, pCommit, lit("true"))
		b.setP(p, pRecordReader, lit(b.reader(n, c.Format, schema).Identifier))
		b.setP(p, pRecordWriter, lit(b.writer(n, "json", n.Out).Identifier))
		b.outs[n.ID] = []port{{p, relSuccess}}
		switch op.OnError {
		case ir.SkipOnError:
			// left unconnected: auto-terminated (dropped), as the spec asks.
		case ir.DeadLetterErr:
			b.errorf(diag.UnsupportedOperator, n.Pos, "Dead-letter output not supported by NiFi",
				"ConsumeKafka's 'parse failure' output is the raw message, not the dead-letter record the spec defines; use onError: skip or fail for NiFi pipelines.")
		default:
			b.holdFunnel(p, relParseFailure)
		}
	case "http":
		p := b.processor(n, "poll", n.Name, "org.apache.nifi.processors.standard.InvokeHTTP", narStandard,
			"Original", "Response", "Retry", "No Retry", "Failure")
		u := option(c, optURL...)
		if !u.set {
			b.missing(n, "a url")
		}
		m := option(c, optMethod...)
		if !m.set {
			m = lit("GET")
		}
		b.setP(p, pHTTPMethod, lit(strings.ToUpper(m.s)))
		b.setP(p, pHTTPURL, u)
		if o, ok := c.Option(optHeaders[0]); ok {
			if hs, ok := o.Value.([]ir.Option); ok {
				for _, h := range hs {
					v := option(&ir.Connector{Options: []ir.Option{h}}, h.Key)
					// Dynamic properties of InvokeHTTP are request headers.
					b.setP(p, prop{name: h.Key, el: true, dynamic: true, sensitive: v.secret != nil}, v)
				}
			}
		}
		if r := option(c, "records"); r.set {
			m := recordsPath.FindStringSubmatch(r.s)
			if m == nil {
				b.errorf(diag.UnsupportedConnector, r.pos, "Records path not supported by NiFi",
					"NiFi's JSON reader starts at a named field; give records as a path of field names such as \"$.data.articles\", not %q.", r.s)
			} else {
				b.start[n.ID] = m[1]
			}
		}
		period, ok := pollPeriod(c)
		if !ok {
			b.errorf(diag.UnsupportedConnector, n.Pos, "Poll interval not understood", "Node %q: give interval as a duration such as \"30s\".", n.Name)
		}
		if cur, ok := c.Option("cursor"); ok {
			b.cursorPolling(n, op, p, cur, u, period)
			return
		}
		p.SchedulingPeriod = period
		// Poll once per cluster, not once per node.
		p.ExecutionNode = "PRIMARY"
		b.outs[n.ID] = []port{{p, "Response"}}
	default:
		b.errorf(diag.UnsupportedConnector, n.Pos, "Source not supported by NiFi", "NiFi flows read from kafka and http sources; %q is %s.", n.Name, c.Kind)
	}
}

// query adds a QueryRecord whose one query selects the node's output.
func (b *builder) query(n *ir.Node, prefix string, where *ir.Expr) {
	cond, err := exprSQL(where)
	if err != nil {
		b.errorf(err.code, err.pos, "Expression not supported by NiFi", "%s.", err.reason)
	}
	b.queryRecord(n, prefix+cond)
}

func (b *builder) queryRecord(n *ir.Node, sql string) {
	p := b.processor(n, "query", n.Name, "org.apache.nifi.processors.standard.QueryRecord", narStandard, relOriginal, relFailure, relSelected)
	b.setP(p, pQRReader, lit(b.reader(n, "json", b.inputType(n), b.startOf(n)).Identifier))
	b.setP(p, pQRWriter, lit(b.writer(n, "json", n.Out).Identifier))
	b.setP(p, pQRZero, lit("false"))
	// The SQL holds no "${" or "#{" (see quoteSQL), so escaping is a no-op
	// kept for safety.
	b.setP(p, prop{name: relSelected, el: true, dynamic: true}, lit(sql))
	b.connect(b.outs[n.Inputs[0]], p)
	b.retryLoop(p, relFailure)
	b.outs[n.ID] = []port{{p, relSelected}}
}

func (b *builder) project(n *ir.Node, op *ir.Map) {
	var cols []string
	for _, c := range op.Columns {
		s, err := exprSQL(c.Expr)
		if err != nil {
			b.errorf(err.code, err.pos, "Expression not supported by NiFi", "%s.", err.reason)
			continue
		}
		cols = append(cols, s+" AS "+quoteIdent(c.Name))
	}
	b.queryRecord(n, "SELECT "+strings.Join(cols, ", ")+" FROM FLOWFILE")
}

func (b *builder) kafkaService(n *ir.Node, c *ir.Connector) *ControllerService {
	brokers := option(c, optBrokers...)
	if !brokers.set {
		if conn := option(c, "connection"); conn.set {
			// The environment is not selected: the operator gives the servers
			// of this connection at import, as a parameter.
			brokers = b.connectionParam(n, conn, "bootstrap servers")
		} else {
			b.missing(n, "Kafka bootstrap servers (brokers or connection)")
		}
	}
	proto, mech, user, pass := option(c, optProtocol...), option(c, optMechanism...), option(c, optUser...), option(c, optPassword...)
	key := strings.Join([]string{"kafka", brokers.s, brokers.param, proto.s, mech.s, user.s, secretKey(user), secretKey(pass)}, "\x00")
	return b.service(key, "Kafka connection ("+n.Name+")", "org.apache.nifi.kafka.service.Kafka3ConnectionService", "nifi-kafka-3-service-nar",
		[]ServiceAPI{b.api("org.apache.nifi.kafka.service.api.KafkaConnectionService", "nifi-kafka-service-api-nar")},
		func(s *ControllerService) {
			b.setS(s, pBootstrap, brokers)
			if proto.set {
				b.setS(s, pSecurity, lit(proto.s))
			}
			if mech.set {
				b.setS(s, pSaslMechanism, lit(mech.s))
			}
			if user.set {
				b.setS(s, pSaslUser, user)
			}
			if pass.set {
				b.setS(s, pSaslPassword, b.sensitive(n, pass))
			}
			// Client properties: the two the service names, the rest as
			// dynamic properties (passed to the Kafka client as is).
			if o, ok := c.Option("properties"); ok {
				if kvs, ok := o.Value.([]ir.Option); ok {
					for _, kv := range kvs {
						v := option(&ir.Connector{Options: []ir.Option{kv}}, kv.Key)
						switch kv.Key {
						case "security.protocol":
							b.setS(s, pSecurity, v)
						case "sasl.mechanism":
							b.setS(s, pSaslMechanism, v)
						default:
							b.setS(s, prop{name: kv.Key, dynamic: true, sensitive: v.secret != nil}, v)
						}
					}
				}
			}
		})
}

// connectionParam declares a non-sensitive parameter without a value, for a
// setting of a named connection that no environment resolved, and returns a
// reference to it.
func (b *builder) connectionParam(n *ir.Node, conn value, what string) value {
	name := conn.s + " " + what
	if !paramName.MatchString(name) {
		b.errorf(diag.UnrepresentableName, conn.pos, "Connection name not usable as a NiFi parameter",
			"NiFi parameter names may hold letters, digits, spaces, '.', '_' and '-'; connection %q cannot be named that way.", conn.s)
		return value{set: true}
	}
	if _, ok := b.params[name]; !ok {
		b.params[name] = &Parameter{Name: name, Description: fmt.Sprintf("The %s of connection %s (no environment was selected at build time)", what, conn.s)}
	}
	return value{set: true, param: name}
}

// startOf returns the JSON field a reader of n's input starts at ("" for
// the document root): set when the input is an http source with records.
func (b *builder) startOf(n *ir.Node) string {
	if len(n.Inputs) == 0 {
		return ""
	}
	starts := map[string]bool{}
	var walk func(id ir.NodeID)
	walk = func(id ir.NodeID) {
		in := b.pl.Node(id)
		if _, ok := in.Op.(*ir.Union); ok {
			for _, x := range in.Inputs {
				walk(x)
			}
			return
		}
		starts[b.start[id]] = true
	}
	walk(n.Inputs[0])
	if len(starts) > 1 {
		b.errorf(diag.UnsupportedConnector, n.Pos, "Inputs of different shapes",
			"Node %q reads a union of an http source whose records sit inside the response and other inputs; NiFi's reader can start at one place only. Add a map after the http source.", n.Name)
	}
	for s := range starts {
		return s
	}
	return ""
}

func secretKey(v value) string {
	if v.secret == nil {
		return ""
	}
	return v.secret.Name + "/" + v.secret.Key
}

// sensitive checks that a value for a sensitive property is a secret: a
// literal would end up in the flow file.
func (b *builder) sensitive(n *ir.Node, v value) value {
	if v.secret == nil {
		b.errorf(diag.NiFiLiteralSecret, v.pos, "Sensitive option given as a literal",
			"Node %q: NiFi flows never carry secret values; give this option as rtsap.#Secret & {name: …, key: …}.", n.Name)
		return value{s: "", set: true}
	}
	return v
}

func (b *builder) sink(n *ir.Node, op *ir.Sink) {
	c := &op.Connector
	in := b.outs[n.Inputs[0]]
	t := n.Out
	start := b.startOf(n)
	switch c.Kind {
	case "kafka", "upsert-kafka":
		p := b.processor(n, "publish", n.Name, "org.apache.nifi.kafka.processors.PublishKafka", "nifi-kafka-nar", relSuccess, relFailure)
		topic := option(c, optTopic...)
		if !topic.set {
			b.missing(n, "a topic")
		}
		b.setP(p, pKafkaConn, lit(b.kafkaService(n, c).Identifier))
		b.setP(p, pTopicName, topic)
		b.setP(p, pRecordReader, lit(b.reader(n, "json", t, start).Identifier))
		format := c.Format
		if format == "" {
			format = "json"
		}
		b.setP(p, pRecordWriter, lit(b.writer(n, format, t).Identifier))
		b.setP(p, pPublishStrat, lit("USE_VALUE"))
		if len(op.Key) == 1 {
			b.setP(p, pMessageKey, lit(op.Key[0]))
		} else if len(op.Key) > 1 {
			b.errorf(diag.UnsupportedConnector, n.Pos, "Composite Kafka key not supported by NiFi", "PublishKafka takes the message key from one field; %q has %d key fields.", n.Name, len(op.Key))
		}
		b.setP(p, pTransactions, lit("false"))
		b.setP(p, pAcks, lit("all"))
		b.connect(in, p)
		b.retryLoop(p, relFailure)
	case "postgres", "timescale":
		p := b.processor(n, "put", n.Name, "org.apache.nifi.processors.standard.PutDatabaseRecord", narStandard, relSuccess, relFailure, relRetry)
		table := option(c, optTable...)
		if !table.set {
			b.missing(n, "a table")
		}
		schemaName, tableName := "", table.s
		if s := option(c, optSchemaTable...); s.set {
			schemaName = s.s
		} else if i := strings.Index(table.s, "."); i > 0 {
			schemaName, tableName = table.s[:i], table.s[i+1:]
		}
		b.setP(p, pRecordReader, lit(b.reader(n, "json", t, start).Identifier))
		b.setP(p, pDBType, lit("PostgreSQL"))
		if len(op.Key) > 0 {
			b.setP(p, pStatement, lit("UPSERT"))
			b.setP(p, pUpdateKeys, lit(strings.Join(op.Key, ",")))
		} else {
			b.setP(p, pStatement, lit("INSERT"))
		}
		b.setP(p, pDBCPService, lit(b.dbcpService(n, c).Identifier))
		if schemaName != "" {
			b.setP(p, pSchemaName, lit(schemaName))
		}
		b.setP(p, pTableName, lit(tableName))
		b.setP(p, pQuoteColumns, lit("true"))
		b.setP(p, pQuoteTable, lit("true"))
		b.connect(in, p)
		b.retryLoop(p, relFailure)
		b.retryLoop(p, relRetry)
	case "mongodb":
		p := b.processor(n, "put", n.Name, "org.apache.nifi.processors.mongodb.PutMongoRecord", "nifi-mongodb-nar", relSuccess, relFailure)
		uri := option(c, optMongoURI...)
		db, coll := option(c, optDatabase...), option(c, optCollection...)
		if !uri.set || !db.set || !coll.set {
			b.missing(n, "uri, database and collection")
		}
		user, pass := option(c, optUser...), option(c, optPassword...)
		svc := b.service(strings.Join([]string{"mongo", uri.s, user.s, secretKey(pass)}, "\x00"), "MongoDB client ("+n.Name+")",
			"org.apache.nifi.mongodb.MongoDBControllerService", "nifi-mongodb-services-nar",
			[]ServiceAPI{b.api("org.apache.nifi.mongodb.MongoDBClientService", "nifi-mongodb-client-service-api-nar")},
			func(s *ControllerService) {
				b.setS(s, pMongoURI, uri)
				if user.set {
					b.setS(s, pMongoUser, user)
				}
				if pass.set {
					b.setS(s, pMongoPassword, b.sensitive(n, pass))
				}
			})
		b.setP(p, pMongoClient, lit(svc.Identifier))
		b.setP(p, pMongoDB, db)
		b.setP(p, pMongoColl, coll)
		b.setP(p, pRecordReader, lit(b.reader(n, "json", t, start).Identifier))
		if len(op.Key) > 0 {
			b.setP(p, pMongoUpdKeys, lit(strings.Join(op.Key, ",")))
		}
		b.connect(in, p)
		b.retryLoop(p, relFailure)
	case "s3":
		format := c.Format
		if format == "" {
			format = "json"
		}
		if format != "json" {
			// PutS3Object writes FlowFile content as is: convert the JSON
			// records between processors to the sink's format first.
			conv := b.processor(n, "convert", n.Name+" ("+format+")", "org.apache.nifi.processors.standard.ConvertRecord", narStandard, relSuccess, relFailure)
			b.setP(conv, pQRReader, lit(b.reader(n, "json", t, start).Identifier))
			b.setP(conv, pQRWriter, lit(b.writer(n, format, t).Identifier))
			b.connect(in, conv)
			b.retryLoop(conv, relFailure)
			in = []port{{conv, relSuccess}}
		}
		p := b.processor(n, "put", n.Name, "org.apache.nifi.processors.aws.s3.PutS3Object", "nifi-aws-nar", relSuccess, relFailure)
		bucket := option(c, optBucket...)
		if !bucket.set {
			b.missing(n, "a bucket")
		}
		b.setP(p, pBucket, bucket)
		prefix := option(c, optPrefix...)
		key := ""
		if prefix.set && prefix.s != "" {
			key = Literal(strings.TrimSuffix(prefix.s, "/"), true) + "/"
		}
		// ${filename} is NiFi's own unique FlowFile name: one object per
		// FlowFile. It is the only Expression Language the backend writes.
		p.Properties[pObjectKey.name] = key + "${filename}." + format
		p.PropertyDescriptors[pObjectKey.name] = &PropertyDescriptor{Name: pObjectKey.name, DisplayName: pObjectKey.name}
		if r := option(c, optRegion...); r.set {
			b.setP(p, pRegion, lit(r.s))
		}
		if e := option(c, optS3Endpoint...); e.set {
			b.setP(p, pEndpoint, e)
			b.setP(p, pPathStyle, lit("true"))
		}
		ak, sk := option(c, optAccessKey...), option(c, optSecretKey...)
		creds := b.service(strings.Join([]string{"aws", secretKey(ak), secretKey(sk)}, "\x00"), "AWS credentials ("+n.Name+")",
			"org.apache.nifi.processors.aws.credentials.provider.service.AWSCredentialsProviderControllerService", "nifi-aws-nar",
			[]ServiceAPI{
				b.api("org.apache.nifi.processors.aws.credentials.provider.service.AWSCredentialsProviderService", "nifi-aws-service-api-nar"),
				b.api("org.apache.nifi.processors.aws.credentials.provider.AwsCredentialsProviderService", "nifi-aws-service-api-nar"),
			},
			func(s *ControllerService) {
				if ak.set || sk.set {
					b.setS(s, pAccessKey, b.sensitive(n, ak))
					b.setS(s, pSecretKey, b.sensitive(n, sk))
				} else {
					b.setS(s, pDefaultCreds, lit("true"))
				}
			})
		b.setP(p, pAWSCreds, lit(creds.Identifier))
		b.connect(in, p)
		b.retryLoop(p, relFailure)
	default:
		b.errorf(diag.UnsupportedConnector, n.Pos, "Sink not supported by NiFi", "%s", sinkDetail(n.Name, c.Kind))
	}
}

func sinkDetail(name, kind string) string {
	switch kind {
	case "hbase", "cassandra":
		return "Sink \"" + name + "\" writes to " + kind + ": NiFi 2.x ships no " + kind +
			" processors (PutHBaseRecord and PutCassandraRecord were in the 1.x bundles, removed in 2.0). Write to Kafka and load from there, or run the pipeline on another engine."
	}
	return "NiFi flows write to kafka, postgres, timescale, mongodb and s3; sink \"" + name + "\" writes to " + kind + "."
}
