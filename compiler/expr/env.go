package expr

import (
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"rtsap.dev/rtsapc/compiler/rtype"
)

// provider exposes rtsapc records to the CEL checker as object types, so
// that `left.price` or `A.price` type-check field by field and an unknown
// field is reported at its token. Each distinct record type is registered
// once under a synthetic name (rtsap.R1, rtsap.R2, …).
type provider struct {
	*types.Registry
	mu     sync.Mutex
	byName map[string]*rtype.Type
	byType map[string]string // rtype string → object name
}

func newProvider() *provider {
	reg, err := types.NewRegistry()
	if err != nil {
		panic(err) // the empty registry cannot fail
	}
	return &provider{Registry: reg, byName: map[string]*rtype.Type{}, byType: map[string]string{}}
}

// object registers (or finds) the record t and returns its CEL type.
func (p *provider) object(t *rtype.Type) *types.Type {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := t.String()
	name, ok := p.byType[k]
	if !ok {
		name = fmt.Sprintf("rtsap.R%d", len(p.byType)+1)
		p.byType[k] = name
		p.byName[name] = t
	}
	return types.NewObjectType(name)
}

func (p *provider) record(name string) (*rtype.Type, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.byName[name]
	return t, ok
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.record(name); ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if t, ok := p.record(name); ok {
		return t.FieldNames(), true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if t, ok := p.record(name); ok {
		f, ok := t.Field(field)
		if !ok {
			return nil, false
		}
		return &types.FieldType{Type: p.celType(f.Type, f.Nullable)}, true
	}
	return p.Registry.FindStructFieldType(name, field)
}

// celType maps a column type to the CEL type it is checked as. Decimals are
// checked as double (CEL has no decimal) while the IR keeps their precision;
// int32 is int; date is a timestamp; nested records are objects; nullable
// scalars are wrapper types so that `x == null` checks.
func (p *provider) celType(t *rtype.Type, nullable bool) *types.Type {
	var c *types.Type
	switch t.Kind {
	case rtype.String:
		c = types.StringType
	case rtype.Bool:
		c = types.BoolType
	case rtype.Int32, rtype.Int64:
		c = types.IntType
	case rtype.Float32, rtype.Float64, rtype.Decimal:
		c = types.DoubleType
	case rtype.Timestamp, rtype.Date:
		return types.TimestampType
	case rtype.Duration:
		return types.DurationType
	case rtype.Bytes:
		c = types.BytesType
	case rtype.List:
		return types.NewListType(p.celType(t.Elem, false))
	case rtype.Map:
		return types.NewMapType(types.StringType, p.celType(t.Elem, false))
	case rtype.Record:
		return p.object(t)
	default:
		return types.DynType
	}
	if nullable {
		return types.NewNullableType(c)
	}
	return c
}

// Checker holds the CEL environments of one compilation. It is safe for
// use by one goroutine at a time.
type Checker struct {
	prov *provider
	base *cel.Env
	envs map[string]*cel.Env // by scope signature
	err  error
}

// NewChecker builds the base environment: CEL's standard library (the
// comprehension macros parse, and are rejected when lowered: they have no
// IR form), our function vocabulary
// and mixed int/double arithmetic (decimal columns are checked as double
// and meet int columns in `price * size`).
func NewChecker() *Checker {
	c := &Checker{prov: newProvider(), envs: map[string]*cel.Env{}}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(c.prov),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(100_000),
		cel.ParserRecursionLimit(200),
	}
	opts = append(opts, functionDecls()...)
	env, err := cel.NewEnv(opts...)
	c.base, c.err = env, err
	return c
}

var (
	dbl  = cel.DoubleType
	intT = cel.IntType
	str  = cel.StringType
	tsT  = cel.TimestampType
	anyT = cel.DynType
	tA   = cel.TypeParamType("A")
)

func ov(id string, args []*cel.Type, res *cel.Type) cel.FunctionOpt {
	return cel.Overload(id, args, res)
}

// functionDecls declares the ir.Fn vocabulary for the checker. Only
// signatures: rtsapc never evaluates CEL itself.
func functionDecls() []cel.EnvOption {
	num := []*cel.Type{intT, dbl}
	var o []cel.EnvOption
	// Mixed arithmetic int∘double → double (both orders).
	for _, op := range []string{operators.Add, operators.Subtract, operators.Multiply, operators.Divide} {
		name := strings.Trim(op, "_")
		o = append(o, cel.Function(op,
			ov("rtsap_"+opID(name)+"_int_double", []*cel.Type{intT, dbl}, dbl),
			ov("rtsap_"+opID(name)+"_double_int", []*cel.Type{dbl, intT}, dbl)))
	}
	unary := func(name string, res func(*cel.Type) *cel.Type, args ...*cel.Type) cel.EnvOption {
		var fo []cel.FunctionOpt
		for _, a := range args {
			fo = append(fo, ov("rtsap_"+name+"_"+typeID(a), []*cel.Type{a}, res(a)))
		}
		return cel.Function(name, fo...)
	}
	same := func(t *cel.Type) *cel.Type { return t }
	toDbl := func(*cel.Type) *cel.Type { return dbl }
	toInt := func(*cel.Type) *cel.Type { return intT }
	// Aggregates.
	o = append(o,
		cel.Function("count", ov("rtsap_count0", nil, intT), ov("rtsap_count1", []*cel.Type{anyT}, intT)),
		cel.Function("count_distinct", ov("rtsap_count_distinct", []*cel.Type{anyT}, intT)),
		unary("sum", same, num...),
		unary("avg", toDbl, num...),
		unary("stddev", toDbl, num...),
		unary("stddev_pop", toDbl, num...),
		unary("variance", toDbl, num...),
		unary("var_pop", toDbl, num...),
		cel.Function("min", ov("rtsap_min", []*cel.Type{tA}, tA)),
		cel.Function("max", ov("rtsap_max", []*cel.Type{tA}, tA)),
		cel.Function("first", ov("rtsap_first", []*cel.Type{tA}, tA)),
		cel.Function("last", ov("rtsap_last", []*cel.Type{tA}, tA), ov("rtsap_last_n", []*cel.Type{tA, intT}, tA)),
		cel.Function("top", ov("rtsap_top", []*cel.Type{tA, intT}, cel.ListType(tA))),
		cel.Function("bottom", ov("rtsap_bottom", []*cel.Type{tA, intT}, cel.ListType(tA))),
		cel.Function("collect", ov("rtsap_collect", []*cel.Type{tA}, cel.ListType(tA))),
	)
	// Scalars.
	o = append(o,
		unary("ln", toDbl, num...),
		unary("log10", toDbl, num...),
		unary("exp", toDbl, num...),
		unary("sqrt", toDbl, num...),
		cel.Function("pow",
			ov("rtsap_pow_dd", []*cel.Type{dbl, dbl}, dbl), ov("rtsap_pow_di", []*cel.Type{dbl, intT}, dbl),
			ov("rtsap_pow_id", []*cel.Type{intT, dbl}, dbl), ov("rtsap_pow_ii", []*cel.Type{intT, intT}, dbl)),
		unary("abs", same, num...),
		unary("floor", same, num...),
		unary("ceil", same, num...),
		cel.Function("round",
			ov("rtsap_round_int", []*cel.Type{intT}, intT), ov("rtsap_round_double", []*cel.Type{dbl}, dbl),
			ov("rtsap_round_double_int", []*cel.Type{dbl, intT}, dbl)),
		unary("lower", same, str),
		unary("upper", same, str),
		unary("trim", same, str),
		cel.Function("replace", ov("rtsap_replace", []*cel.Type{str, str, str}, str)),
		cel.Function("substring", ov("rtsap_substring2", []*cel.Type{str, intT}, str),
			ov("rtsap_substring3", []*cel.Type{str, intT, intT}, str)),
		unary("epoch_millis", toInt, tsT),
		unary("hour", toInt, tsT),
		unary("day_of_week", toInt, tsT),
		cel.Function("date_trunc", ov("rtsap_date_trunc", []*cel.Type{str, tsT}, tsT)),
		cel.Function("decimal", ov("rtsap_decimal_int", []*cel.Type{intT, intT, intT}, dbl),
			ov("rtsap_decimal_double", []*cel.Type{dbl, intT, intT}, dbl),
			ov("rtsap_decimal_string", []*cel.Type{str, intT, intT}, dbl)),
	)
	// Variadic functions: declared for 1..8 arguments of one type.
	for _, name := range []string{"greatest", "least", "coalesce"} {
		var fo []cel.FunctionOpt
		for n := 1; n <= 8; n++ {
			args := make([]*cel.Type, n)
			for i := range args {
				args[i] = tA
			}
			fo = append(fo, ov(fmt.Sprintf("rtsap_%s_%d", name, n), args, tA))
		}
		o = append(o, cel.Function(name, fo...))
	}
	var fo []cel.FunctionOpt
	for n := 1; n <= 8; n++ {
		args := make([]*cel.Type, n)
		for i := range args {
			args[i] = anyT
		}
		fo = append(fo, ov(fmt.Sprintf("rtsap_concat_%d", n), args, str))
	}
	o = append(o, cel.Function("concat", fo...))
	return o
}

func opID(op string) string {
	switch strings.Trim(op, "_") {
	case "+":
		return "add"
	case "-":
		return "sub"
	case "*":
		return "mul"
	case "/":
		return "div"
	case "==":
		return "eq"
	case "!=":
		return "ne"
	}
	return "op"
}

func typeID(t *cel.Type) string {
	return strings.NewReplacer(".", "_", "(", "_", ")", "_").Replace(t.String())
}
