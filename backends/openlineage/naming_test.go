package openlineage

import (
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
)

func conn(kind string, kv ...any) *ir.Connector {
	c := &ir.Connector{Kind: kind}
	for i := 0; i < len(kv); i += 2 {
		c.Options = append(c.Options, ir.Option{Key: kv[i].(string), Value: kv[i+1]})
	}
	return c
}

func TestDatasetNaming(t *testing.T) {
	env := &ir.Environment{Name: "prod", Namespace: "md-prod", Connections: []ir.Connection{
		{Name: "md-kafka", Kind: "kafka", Options: []ir.Option{{Key: "brokers", Value: []any{"kafka-0:9093", "kafka-1:9093"}}}},
		{Name: "ts", Kind: "timescale", Options: []ir.Option{{Key: "url", Value: "postgres://writer:pw@tsdb:5433/analytics?sslmode=require"}}},
		{Name: "mongo", Kind: "mongodb", Options: []ir.Option{{Key: "hosts", Value: []any{"mongo-0", "mongo-1:27018"}}}},
		{Name: "only-cassandra", Kind: "cassandra", Options: []ir.Option{{Key: "hosts", Value: []any{"cass-0"}}}},
	}}
	cases := []struct {
		name          string
		c             *ir.Connector
		env           *ir.Environment
		ns, dsName    string
		unresolved    bool
		symlinkTarget string
	}{
		{"kafka brokers", conn("kafka", "topic", "t", "brokers", []any{"b1:9092", "b2"}), nil, "kafka://b1:9092", "t", false, "kafka://b2:9092"},
		{"kafka comma string", conn("upsert-kafka", "topic", "t", "brokers", "b1, b2:9093"), nil, "kafka://b1:9092", "t", false, "kafka://b2:9093"},
		{"kafka scheme in broker", conn("kafka", "topic", "t", "brokers", []any{"SASL_SSL://b1:9096"}), nil, "kafka://b1:9096", "t", false, ""},
		{"kafka via connection", conn("kafka", "topic", "t", "connection", "md-kafka"), env, "kafka://kafka-0:9093", "t", false, "kafka://kafka-1:9093"},
		{"kafka connection without env", conn("kafka", "topic", "t", "connection", "md-kafka"), nil, "kafka://unresolved", "t", true, ""},
		{"kafka own brokers win", conn("kafka", "topic", "t", "connection", "md-kafka", "brokers", []any{"mine:1"}), env, "kafka://mine:1", "t", false, ""},
		{"postgres url", conn("postgres", "table", "ref.instruments", "url", "postgres://u:secret@db:5432/refdata"), nil, "postgres://db:5432", "refdata.ref.instruments", false, ""},
		{"postgres default port and schema", conn("postgres", "table", "instruments", "url", "postgres://db/refdata"), nil, "postgres://db:5432", "refdata.public.instruments", false, ""},
		{"timescale via connection, no credentials", conn("timescale", "table", "analytics.vwap", "connection", "ts"), env, "postgres://tsdb:5433", "analytics.analytics.vwap", false, ""},
		{"postgres unresolved", conn("postgres", "table", "a.b"), nil, "postgres://unresolved", "unresolved.a.b", true, ""},
		{"mongodb via connection", conn("mongodb", "database", "news", "collection", "articles", "connection", "mongo"), env, "mongodb://mongo-0:27017", "news.articles", false, ""},
		{"mongodb secret uri", conn("mongodb", "database", "news", "collection", "articles", "uri", &ir.Secret{Name: "m", Key: "uri"}), nil, "mongodb://unresolved", "news.articles", true, ""},
		{"cassandra only connection of its kind", conn("cassandra", "keyspace", "md", "table", "bars"), env, "cassandra://cass-0:9042", "md.bars", false, ""},
		{"hbase default namespace", conn("hbase", "table", "quotes", "zookeeper", "zk-0,zk-1"), nil, "hbase://zk-0:2181", "default:quotes", false, ""},
		{"hbase namespace", conn("hbase", "table", "md:quotes", "zookeeper", "zk-0:2182"), nil, "hbase://zk-0:2182", "md:quotes", false, ""},
		{"s3", conn("s3", "bucket", "lake", "path", "/trades/date={date}/", "endpoint", "http://minio:9000"), nil, "s3://lake", "trades/date={date}/", false, ""},
		{"file", conn("file", "path", "/data/in.jsonl"), nil, "file", "/data/in.jsonl", false, ""},
		{"stdout", conn("stdout"), nil, "file", "/dev/stdout", false, ""},
		{"qdrant", conn("qdrant", "collection", "news", "url", "http://qdrant:6334"), nil, "qdrant://qdrant:6334", "news", false, ""},
		{"solr default port", conn("solr", "collection", "docs", "url", "http://solr/solr"), nil, "solr://solr:8983", "docs", false, ""},
		{"http", conn("http", "url", "https://api.example.com/v2/articles?key=secret"), nil, "https://api.example.com:443", "/v2/articles", false, ""},
		{"unknown kind", conn("carrier-pigeon"), nil, "carrier-pigeon://unresolved", "unresolved", true, ""},
	}
	for _, c := range cases {
		id := Dataset(c.c, c.env)
		if id.Namespace != c.ns || id.Name != c.dsName || (id.Unresolved != "") != c.unresolved {
			t.Errorf("%s: got %q %q unresolved=%q, want %q %q unresolved=%v", c.name, id.Namespace, id.Name, id.Unresolved, c.ns, c.dsName, c.unresolved)
		}
		if c.symlinkTarget != "" && (len(id.Symlinks) == 0 || id.Symlinks[0].Namespace != c.symlinkTarget) {
			t.Errorf("%s: symlinks %+v, want %s", c.name, id.Symlinks, c.symlinkTarget)
		}
	}
}

func TestNamespaceAndProducer(t *testing.T) {
	if ns := Namespace(nil); ns != "rtsapc" {
		t.Errorf("default namespace %q", ns)
	}
	env := &ir.Environment{Namespace: "md-prod"}
	if ns := Namespace(&backends.Options{Env: env}); ns != "md-prod" {
		t.Errorf("env namespace %q", ns)
	}
	if ns := Namespace(&backends.Options{Env: env, Settings: map[string]string{"openlineage.namespace": "lineage"}}); ns != "lineage" {
		t.Errorf("setting namespace %q", ns)
	}
	if p := Producer(&backends.Options{Version: "v1.2.3 dirty"}); p != "https://rtsap.dev/rtsapc/v1.2.3%20dirty" {
		t.Errorf("producer %q", p)
	}
}

func TestListenerConfig(t *testing.T) {
	p := &ir.Pipeline{Name: "equities-vwap"}
	got := ListenerConfig(p, &backends.Options{Settings: map[string]string{SetURL: "http://marquez:5000"}})
	want := []ir.KV{{Key: "job.name", Value: "equities-vwap"}, {Key: "job.namespace", Value: "rtsapc"},
		{Key: "transport.endpoint", Value: "/api/v1/lineage"}, {Key: "transport.type", Value: "http"}, {Key: "transport.url", Value: "http://marquez:5000"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
		if i > 0 && got[i-1].Key > got[i].Key {
			t.Errorf("not sorted at %s", got[i].Key)
		}
	}
	k := ListenerConfig(p, &backends.Options{Settings: map[string]string{SetTransport: "kafka"}})
	if k[2].Key != "transport.properties.bootstrap.servers" || k[3].Value != "openlineage" || k[4].Value != "kafka" {
		t.Errorf("kafka: %v", k)
	}
	if c := ListenerConfig(p, nil); c[2].Value != "console" || len(c) != 3 {
		t.Errorf("default: %v", c)
	}
}

func TestRegisterSQL(t *testing.T) {
	v := oltest.New(t)
	RegisterSQL("sqltest", func(p *ir.Pipeline, _ *backends.Options) (string, string) {
		return "INSERT INTO `out` SELECT * FROM `" + p.Name + "`", "flink"
	})
	p := vwapPipeline()
	p.Engine = "sqltest"
	st, _ := Build(&ir.Program{}, p, testOpts)
	if f := st.Job.Job.Facets.SQL; f == nil || f.Query != "INSERT INTO `out` SELECT * FROM `equities-vwap`" || f.Dialect != "flink" {
		t.Fatalf("sql facet %+v", f)
	}
	data, _ := Marshal(st.Job)
	if err := v.Validate(data); err != nil {
		t.Fatal(err)
	}
	if st, _ := Build(&ir.Program{}, vwapPipeline(), testOpts); st.Job.Job.Facets.SQL != nil {
		t.Fatal("sql facet for an engine without SQL")
	}
}
