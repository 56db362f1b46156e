// Package nifi is the NiFi backend: per pipeline, a flow definition JSON as
// NiFi 2.x's "Download flow definition" writes it and "Upload flow
// definition" reads it (a RegisteredFlowSnapshot): one process group with
// processors, connections, controller services and a parameter context in
// which every secret is a sensitive parameter without a value.
//
// Mapping: kafka sources → ConsumeKafka (Kafka3ConnectionService), http
// sources → InvokeHTTP (polled on the primary node); filters and maps →
// QueryRecord with the expression translated to Calcite SQL; unions → several
// connections into the consumer; sinks → PublishKafka, PutDatabaseRecord
// (DBCPConnectionPool), PutMongoRecord, PutS3Object (after ConvertRecord for
// Avro and Parquet). Records travel between processors as JSON with the
// node's own schema (Avro schema text generated from the IR type). Windows,
// joins, patterns and every other stateful operator are rejected in Check.
//
// Strings from the spec never become Expression Language or parameter
// references: see [Literal].
package nifi

import (
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Backend is the NiFi backend descriptor.
var Backend = &backends.Backend{
	Name: "nifi",
	Doc: `NiFi 2.x flow definitions for integration pipelines

Per pipeline, <pipeline>/nifi/flow.json: a flow definition to import with
"Upload flow definition" (or the NiFi REST API), and the flow's OpenLineage
declaration next to it, nifi/openlineage/job.json (JobEvent with column
lineage) and run.json (processing_engine nifi). Sources: kafka, http;
operators: filter, map, union; sinks: kafka, postgres, timescale, mongodb,
s3. Secrets become sensitive parameters whose values are supplied at
import. Settings: nifi.version (bundle version, default ` + DefaultVersion + `),
nifi.jdbcDriverLocation (PostgreSQL JDBC driver jar on the NiFi nodes).`,
	Scope:    backends.PerPipeline,
	Check:    check,
	Generate: generate,
}

// check reports everything NiFi cannot express exactly. It runs the same
// builder as Generate, so the two never disagree.
func check(p *ir.Pipeline, opts *backends.Options) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, n := range p.Nodes {
		ds = ds.Extend(checkNames(n))
	}
	_, fds := Flow(p, opts)
	return ds.Extend(fds).Sort()
}

// checkNames rejects records Calcite cannot address: it matches column names
// case-insensitively (Lex.MYSQL_ANSI), so two fields differing only in case
// are one column to NiFi's SQL.
func checkNames(n *ir.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	switch n.Op.(type) {
	case *ir.Filter, *ir.Map:
	default:
		return nil
	}
	for _, t := range []*rtype.Type{n.Out} {
		if t == nil {
			continue
		}
		seen := map[string]string{}
		for _, f := range t.Fields {
			k := strings.ToLower(f.Name)
			if prev, ok := seen[k]; ok {
				ds = ds.Append(diag.Errorf(diag.NiFiNameCollision, n.Pos, "Field names differ only in case",
					"Node %q has fields %q and %q; NiFi's SQL (Calcite) matches names case-insensitively, so it cannot tell them apart. Rename one.", n.Name, prev, f.Name))
			}
			seen[k] = f.Name
		}
	}
	return ds
}

func unsupportedDetail(n *ir.Node) string {
	what := ""
	switch op := n.Op.(type) {
	case *ir.Aggregate:
		if op.Window != nil {
			what = fmt.Sprintf("a %s window aggregation", op.Window.Kind)
		} else {
			what = "an aggregation"
		}
	case *ir.Join:
		what = "a join"
	case *ir.Lookup:
		what = "a lookup join"
	case *ir.Pattern:
		what = "a pattern (MATCH_RECOGNIZE)"
	case *ir.Rolling:
		what = "a rolling (OVER) aggregation"
	case *ir.Dedupe:
		what = "a dedupe"
	case *ir.TopN:
		what = "a top-N"
	case *ir.Windowing:
		what = "a window assignment (windowing)"
	case *ir.DeadLetter:
		what = "a dead-letter output"
	case *ir.LateOutput:
		what = "a late-records output"
	default:
		what = fmt.Sprintf("operator %T", n.Op)
	}
	return fmt.Sprintf("Node %q is %s. NiFi processes FlowFiles independently and keeps no event-time state, so it runs only stateless record pipelines (filter, map, union between sources and sinks). Set the pipeline's engine to flink, spark or beam.", n.Name, what)
}

func (b *builder) dbcpService(n *ir.Node, c *ir.Connector) *ControllerService {
	url, ok := jdbcURL(c)
	if !ok {
		b.missing(n, "a PostgreSQL connection (url, or host and database)")
	}
	user, pass := option(c, optUser...), option(c, optPassword...)
	key := strings.Join([]string{"dbcp", url, user.s, secretKey(user), secretKey(pass)}, "\x00")
	return b.service(key, "PostgreSQL pool ("+n.Name+")", "org.apache.nifi.dbcp.DBCPConnectionPool", "nifi-dbcp-service-nar",
		[]ServiceAPI{b.api("org.apache.nifi.dbcp.DBCPService", narServiceAPI)},
		func(s *ControllerService) {
			b.setS(s, pDBURL, lit(url))
			b.setS(s, pDBDriver, lit("org.postgresql.Driver"))
			b.setS(s, pDBDriverLoc, lit(b.opts.Setting("nifi.jdbcDriverLocation", "/opt/nifi/nifi-current/drivers/postgresql.jar")))
			if user.set {
				b.setS(s, pDBUser, user)
			}
			if pass.set {
				b.setS(s, pDBPassword, b.sensitive(n, pass))
			}
		})
}
