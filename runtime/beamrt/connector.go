package beamrt

import (
	"fmt"
	"strconv"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
)

// ParseSet splits an Options.Set entry "NODE.OPTION=VALUE".
func ParseSet(s string) (node, option, value string, err error) {
	lhs, value, ok := strings.Cut(s, "=")
	i := strings.LastIndexByte(lhs, '.')
	if !ok || i <= 0 || i == len(lhs)-1 {
		return "", "", "", fmt.Errorf("set %q: want NODE.OPTION=VALUE", s)
	}
	return lhs[:i], lhs[i+1:], value, nil
}

// apply returns n with the Options.Set overrides of its connector applied
// (a copy; the plan's IR stays as decoded), or n itself when none apply.
func (o Options) apply(n *ir.Node) (*ir.Node, error) {
	var c *ir.Connector
	switch op := n.Op.(type) {
	case *ir.Source:
		c = &op.Connector
	case *ir.Sink:
		c = &op.Connector
	default:
		return n, nil
	}
	var opts []ir.Option
	for _, s := range o.Set {
		node, key, value, err := ParseSet(s)
		if err != nil {
			return nil, err
		}
		if node != n.Name {
			continue
		}
		if opts == nil {
			opts = append([]ir.Option(nil), c.Options...)
		}
		var v any = value
		found := false
		for i, old := range opts {
			if old.Key != key {
				continue
			}
			found = true
			switch old.Value.(type) {
			case *ir.Secret:
				return nil, fmt.Errorf("set %q: option %s of %q is a secret; set its environment variable instead", s, key, n.Name)
			case bool:
				b, err := strconv.ParseBool(value)
				if err != nil {
					return nil, fmt.Errorf("set %q: option %s is a bool", s, key)
				}
				v = b
			case int64:
				x, err := strconv.ParseInt(value, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("set %q: option %s is an integer", s, key)
				}
				v = x
			case float64:
				x, err := strconv.ParseFloat(value, 64)
				if err != nil {
					return nil, fmt.Errorf("set %q: option %s is a number", s, key)
				}
				v = x
			case string:
			default:
				return nil, fmt.Errorf("set %q: option %s of %q is a %T, not settable", s, key, n.Name, old.Value)
			}
			opts[i].Value = v
		}
		if !found {
			opts = append(opts, ir.Option{Key: key, Value: v})
		}
	}
	if opts == nil {
		return n, nil
	}
	for i := 1; i < len(opts); i++ { // keep the options sorted by key
		for j := i; j > 0 && opts[j].Key < opts[j-1].Key; j-- {
			opts[j], opts[j-1] = opts[j-1], opts[j]
		}
	}
	m := *n
	switch op := n.Op.(type) {
	case *ir.Source:
		cp := *op
		cp.Connector.Options = opts
		m.Op = &cp
	case *ir.Sink:
		cp := *op
		cp.Connector.Options = opts
		m.Op = &cp
	}
	return &m, nil
}
