package openlineage

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
)

// DatasetID is a dataset's OpenLineage identity (docs/naming.md) plus the
// other names it is known by.
type DatasetID struct {
	Namespace string
	Name      string
	// Type is the datasetType facet value: TOPIC, TABLE, COLLECTION, FILE…
	Type string
	// Symlinks are other identities of the same dataset (every bootstrap
	// server of a Kafka cluster names the same topic).
	Symlinks []DatasetID
	// Unresolved says what the spec and environment lacked to name the
	// dataset exactly ("brokers"); the namespace then holds "unresolved".
	Unresolved string
	// Remedy says how to supply it, when the connector's own options cannot.
	Remedy string
}

// Unresolved is the host part used when a connector names no host.
const Unresolved = "unresolved"

// Default ports by connector, for namespaces that need host:port.
var defaultPorts = map[string]int{
	"kafka": 9092, "postgres": 5432, "mongodb": 27017, "cassandra": 9042, "hbase": 2181,
	"qdrant": 6333, "solr": 8983,
}

// Dataset names the dataset a connector reads or writes, following the
// OpenLineage naming spec:
//
//	kafka, upsert-kafka  kafka://{first broker host}:{port}    {topic}
//	postgres, timescale  postgres://{host}:{port}             {database}.{schema}.{table}
//	cassandra            cassandra://{first host}:{port}      {keyspace}.{table}
//	s3 (and MinIO)       s3://{bucket}                        {path}
//	file                 file                                 {path}
//	stdout               file                                 /dev/stdout
//
// The spec has no row for these; rtsapc chooses by analogy:
//
//	mongodb              mongodb://{first host}:{port}        {database}.{collection}
//	hbase                hbase://{first zookeeper}:{port}     {namespace}:{table} ("default" namespace)
//	qdrant               qdrant://{host}:{port}               {collection}
//	solr                 solr://{host}:{port}                 {collection}
//	http                 {scheme}://{host}:{port}             {path} (without the query)
//
// Connection settings come from the connector's options, else from the
// environment connection it names (connection: "…"), else from the only
// connection of that kind in the environment. TimescaleDB is PostgreSQL and
// MinIO is S3 on the wire, so they share those schemes: lineage from Flink
// or Spark listeners (which see JDBC and s3a URLs) lands on the same nodes.
func Dataset(c *ir.Connector, env *ir.Environment) DatasetID {
	opts := connectionOptions(c, env)
	str := func(k string) string { return optString(opts, k) }
	switch c.Kind {
	case "kafka", "upsert-kafka":
		hosts := hostList(opts, "brokers", "bootstrapServers", "bootstrap.servers")
		id := DatasetID{Name: str("topic"), Type: "TOPIC"}
		if len(hosts) == 0 {
			id.Namespace, id.Unresolved = "kafka://"+Unresolved, "brokers"
			return id
		}
		id.Namespace = "kafka://" + hostPort(hosts[0], defaultPorts["kafka"])
		for _, h := range hosts[1:] {
			if ns := "kafka://" + hostPort(h, defaultPorts["kafka"]); ns != id.Namespace {
				id.Symlinks = append(id.Symlinks, DatasetID{Namespace: ns, Name: id.Name, Type: "TOPIC"})
			}
		}
		return id
	case "postgres", "timescale":
		schema, table := "public", str("table")
		if s, t, ok := strings.Cut(table, "."); ok {
			schema, table = s, t
		}
		id := DatasetID{Type: "TABLE"}
		u := parseURL(firstNonEmpty(str("url"), str("jdbcUrl")))
		if u == nil || u.Host == "" {
			id.Namespace, id.Unresolved = "postgres://"+Unresolved, "url"
			id.Name = firstNonEmpty(str("database"), Unresolved) + "." + schema + "." + table
			return id
		}
		id.Namespace = "postgres://" + hostPort(u.Host, defaultPorts["postgres"])
		db := strings.TrimPrefix(u.Path, "/")
		if db == "" {
			db = firstNonEmpty(str("database"), "postgres")
		}
		id.Name = db + "." + schema + "." + table
		return id
	case "mongodb":
		id := DatasetID{Name: str("database") + "." + str("collection"), Type: "COLLECTION"}
		hosts := hostList(opts, "hosts", "host")
		if u := parseURL(firstNonEmpty(str("uri"), str("url"))); len(hosts) == 0 && u != nil && u.Host != "" {
			hosts = strings.Split(u.Host, ",")
		}
		if len(hosts) == 0 {
			id.Namespace, id.Unresolved = "mongodb://"+Unresolved, "hosts"
			id.Remedy = "Its uri is a secret, so list the servers as hosts: [\"host:port\", …] in an environment connection of kind mongodb, name it with connection: \"…\", and build with --env."
			return id
		}
		id.Namespace = "mongodb://" + hostPort(hosts[0], defaultPorts["mongodb"])
		return id
	case "cassandra":
		id := DatasetID{Name: str("keyspace") + "." + str("table"), Type: "TABLE"}
		hosts := hostList(opts, "hosts", "contactPoints", "host")
		if len(hosts) == 0 {
			id.Namespace, id.Unresolved = "cassandra://"+Unresolved, "hosts"
			return id
		}
		id.Namespace = "cassandra://" + hostPort(hosts[0], defaultPorts["cassandra"])
		return id
	case "hbase":
		table := str("table")
		if !strings.Contains(table, ":") {
			table = "default:" + table
		}
		id := DatasetID{Name: table, Type: "TABLE"}
		hosts := hostList(opts, "zookeeper", "hosts")
		if len(hosts) == 0 {
			id.Namespace, id.Unresolved = "hbase://"+Unresolved, "zookeeper"
			return id
		}
		id.Namespace = "hbase://" + hostPort(hosts[0], defaultPorts["hbase"])
		return id
	case "s3":
		bucket, key := str("bucket"), str("path")
		if u := parseURL(key); u != nil && (u.Scheme == "s3" || u.Scheme == "s3a") {
			bucket, key = u.Host, u.Path
		}
		return DatasetID{Namespace: "s3://" + bucket, Name: strings.TrimPrefix(key, "/"), Type: "FILE"}
	case "file":
		return DatasetID{Namespace: "file", Name: str("path"), Type: "FILE"}
	case "stdout":
		return DatasetID{Namespace: "file", Name: "/dev/stdout", Type: "FILE"}
	case "qdrant", "solr":
		id := DatasetID{Name: str("collection"), Type: "COLLECTION"}
		u := parseURL(str("url"))
		if u == nil || u.Host == "" {
			id.Namespace, id.Unresolved = c.Kind+"://"+Unresolved, "url"
			return id
		}
		id.Namespace = c.Kind + "://" + hostPort(u.Host, defaultPorts[c.Kind])
		return id
	case "http":
		u := parseURL(str("url"))
		if u == nil || u.Host == "" {
			return DatasetID{Namespace: "http://" + Unresolved, Name: "/", Type: "API", Unresolved: "url"}
		}
		port := 80
		if u.Scheme == "https" {
			port = 443
		}
		return DatasetID{Namespace: u.Scheme + "://" + hostPort(u.Host, port), Name: firstNonEmpty(u.Path, "/"), Type: "API"}
	}
	return DatasetID{Namespace: c.Kind + "://" + Unresolved, Name: Unresolved, Unresolved: "a naming rule for connector " + strconv.Quote(c.Kind)}
}

// connectionOptions merges the connector's options over those of the
// environment connection it uses (the connector's own win).
func connectionOptions(c *ir.Connector, env *ir.Environment) []ir.Option {
	if env == nil {
		return c.Options
	}
	var conn *ir.Connection
	if name := c.String("connection", ""); name != "" {
		for i := range env.Connections {
			if env.Connections[i].Name == name {
				conn = &env.Connections[i]
			}
		}
	} else {
		kind := c.Kind
		if kind == "upsert-kafka" {
			kind = "kafka"
		}
		n := 0
		for i := range env.Connections {
			if env.Connections[i].Kind == kind {
				conn, n = &env.Connections[i], n+1
			}
		}
		if n != 1 {
			conn = nil
		}
	}
	if conn == nil {
		return c.Options
	}
	out := append([]ir.Option(nil), c.Options...)
	for _, o := range conn.Options {
		if _, ok := c.Option(o.Key); !ok {
			out = append(out, o)
		}
	}
	return out
}

func optString(opts []ir.Option, key string) string {
	for _, o := range opts {
		if o.Key == key {
			if s, ok := o.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// hostList reads the first present key as a list of strings or a
// comma-separated string.
func hostList(opts []ir.Option, keys ...string) []string {
	for _, k := range keys {
		for _, o := range opts {
			if o.Key != k {
				continue
			}
			var out []string
			switch v := o.Value.(type) {
			case string:
				for _, s := range strings.Split(v, ",") {
					if s = strings.TrimSpace(s); s != "" {
						out = append(out, s)
					}
				}
			case []any:
				for _, x := range v {
					if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
						out = append(out, strings.TrimSpace(s))
					}
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return nil
}

// hostPort normalises "host", "host:port" or "scheme://host:port" to
// host:port with the default port.
func hostPort(s string, def int) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 { // never carry credentials into a name
		s = s[i+1:]
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		return net.JoinHostPort(h, p)
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), strconv.Itoa(def))
}

func parseURL(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	u.User = nil
	return u
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Namespace is the job namespace of rtsapc's jobs, shared by every engine
// so that the static declarations and the runtime events (Beam runtime,
// Flink and Spark listeners, Argo exit handlers) name the same job: the
// setting "openlineage.namespace", else the environment's namespace, else
// "rtsapc". Flink's and Spark's listener configuration should set their job
// namespace to this value and their job name to [JobName].
func Namespace(opts *backends.Options) string {
	if s := opts.Setting("openlineage.namespace", ""); s != "" {
		return s
	}
	if opts != nil && opts.Env != nil && opts.Env.Namespace != "" {
		return opts.Env.Namespace
	}
	return "rtsapc"
}

// JobName is the OpenLineage job name of a pipeline: its name.
func JobName(p *ir.Pipeline) string { return p.Name }

// Producer is the producer URI written into every event and facet.
func Producer(opts *backends.Options) string {
	v := ""
	if opts != nil {
		v = opts.Version
	}
	if v == "" {
		return "https://rtsap.dev/rtsapc"
	}
	return "https://rtsap.dev/rtsapc/" + url.PathEscape(v)
}
