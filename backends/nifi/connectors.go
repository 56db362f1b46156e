package nifi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Connector options are read by the names the stdlib connectors use, with
// the common alternatives accepted so that a renamed option is not silently
// dropped: every option a generator needs and cannot find is an error.

// value is a property value: a literal string (escaped on output) or a
// reference to a sensitive parameter.
type value struct {
	s      string
	secret *ir.Secret
	param  string // a non-sensitive parameter to reference
	set    bool
	pos    diag.Range
}

func option(c *ir.Connector, keys ...string) value {
	for _, k := range keys {
		o, ok := c.Option(k)
		if !ok {
			continue
		}
		v := value{set: true, pos: o.Pos}
		switch x := o.Value.(type) {
		case string:
			v.s = x
		case *ir.Secret:
			v.secret = x
		case int64:
			v.s = strconv.FormatInt(x, 10)
		case float64:
			v.s = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			v.s = strconv.FormatBool(x)
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			v.s = strings.Join(parts, ",")
		default:
			v.s = fmt.Sprint(x)
		}
		return v
	}
	return value{}
}

// Option names per connector kind.
var (
	optTopic       = []string{"topic", "topics"}
	optBrokers     = []string{"brokers", "bootstrapServers", "bootstrap.servers", "servers"}
	optGroup       = []string{"group", "groupId", "group.id", "consumerGroup"}
	optOffset      = []string{"startingOffsets", "startFrom", "offsetReset", "auto.offset.reset", "startup"}
	optProtocol    = []string{"securityProtocol", "security.protocol"}
	optMechanism   = []string{"saslMechanism", "sasl.mechanism"}
	optUser        = []string{"user", "username"}
	optPassword    = []string{"password"}
	optURL         = []string{"url", "endpoint"}
	optMethod      = []string{"method"}
	optInterval    = []string{"interval", "pollInterval", "poll"}
	optHeaders     = []string{"headers"}
	optTable       = []string{"table"}
	optDatabase    = []string{"database", "db"}
	optHost        = []string{"host"}
	optPort        = []string{"port"}
	optMongoURI    = []string{"uri", "url", "connection"}
	optCollection  = []string{"collection"}
	optBucket      = []string{"bucket"}
	optPrefix      = []string{"path", "prefix", "key"}
	optS3Endpoint  = []string{"endpoint"}
	optRegion      = []string{"region"}
	optAccessKey   = []string{"accessKey", "accessKeyId"}
	optSecretKey   = []string{"secretKey", "secretAccessKey"}
	optPathStyle   = []string{"pathStyle", "pathStyleAccess", "forcePathStyle"}
	optJDBCURL     = []string{"jdbcUrl", "url"}
	optSchemaTable = []string{"schema"}
)

// jdbcURL derives the PostgreSQL JDBC URL of a postgres/timescale connector.
func jdbcURL(c *ir.Connector) (string, bool) {
	if v := option(c, optJDBCURL...); v.set && v.secret == nil {
		s := v.s
		switch {
		case strings.HasPrefix(s, "jdbc:"):
			return s, true
		case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
			u, err := url.Parse(s)
			if err != nil {
				return "", false
			}
			// Credentials never go into the URL (they are parameters).
			u.User = nil
			u.Scheme = "postgresql"
			return "jdbc:" + u.String(), true
		}
		return "", false
	}
	host := option(c, optHost...)
	db := option(c, optDatabase...)
	if !host.set || !db.set {
		return "", false
	}
	port := option(c, optPort...)
	p := "5432"
	if port.set {
		p = port.s
	}
	return "jdbc:postgresql://" + host.s + ":" + p + "/" + url.PathEscape(db.s), true
}

// nifiDuration renders d as a NiFi time period ("5 mins", "30 secs").
func nifiDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 sec"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " mins"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + " secs"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + " millis"
}

// pollPeriod reads a polling interval: a duration string ("30s", "5m") or a
// number of seconds.
func pollPeriod(c *ir.Connector) (string, bool) {
	o, ok := c.Option(optInterval[0])
	if !ok {
		for _, k := range optInterval[1:] {
			if o, ok = c.Option(k); ok {
				break
			}
		}
	}
	if !ok {
		return "1 min", true
	}
	switch v := o.Value.(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "", false
		}
		return nifiDuration(d), true
	case int64:
		if v <= 0 {
			return "", false
		}
		return nifiDuration(time.Duration(v) * time.Second), true
	}
	return "", false
}
