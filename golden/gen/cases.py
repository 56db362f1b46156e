# Generates golden/testdata/err_*.txtar: one invalid spec per case. The
# marker « in a body is where the diagnostic must point; it becomes the
# case's `#want CODE pipeline.cue:LINE:COL` line and is removed.
# Run: python3 golden/gen/cases.py  (then go test ./golden -update, review).
import os

HDR = '''package markets

import (
	"rtsap.dev/rtsap"
	"rtsap.dev/rtsap/connect/kafka"
	"rtsap.dev/rtsap/connect/stdout"
)

#Trade: rtsap.#Record & {symbol: "string", venue: "string", price: "decimal(18,6)", size: "int64", ts: "timestamp(3)", cond?: "string"}
#Quote: rtsap.#Record & {symbol: "string", bid: "decimal(18,6)", ask: "decimal(18,6)", ts: "timestamp(3)"}

'''

def pipe(transforms, sinks='\tsinks: out: stdout.#Sink & {from: "t"}\n', sources=None, extra=''):
    if sources is None:
        sources = '\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade, eventTime: {field: "ts", maxOutOfOrderness: "5s"}}\n'
    return ('pipelines: p: rtsap.#Pipeline & {\n\tengine: "flink"\n' + extra + sources +
            '\ttransforms: {\n' + transforms + '\t}\n' + sinks + '}\n')

def t(name, body):
    return '\t\t%s: %s\n' % (name, body)

F = lambda where: t('t', 'rtsap.#Filter & {from: "trades", where: "%s"}' % where)
M = lambda sel: t('t', 'rtsap.#Map & {from: "trades", select: {%s}}' % sel)
A = lambda rest: t('t', 'rtsap.#Aggregate & {from: "trades", %s}' % rest)

QUOTES = '\tsources: {\n\t\ttrades: kafka.#Source & {topic: "md.trades", schema: #Trade, eventTime: {field: "ts", maxOutOfOrderness: "5s"}}\n\t\tquotes: kafka.#Source & {topic: "md.quotes", schema: #Quote, eventTime: {field: "ts", maxOutOfOrderness: "5s"}}\n\t}\n'
NOTIME = '\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade}\n'

cases = [
 ("unknown_field_filter", "An unknown field in a filter, with a suggestion.", "RTS2003", pipe(F("«pricee > 0"))),
 ("unknown_field_second_operand", "The column of the bad operand inside the string.", "RTS2003", pipe(F("size > 0 && «venu == 'X'"))),
 ("syntax_error", "A CEL syntax error (= for ==).", "RTS3000", pipe(F("size «= 2"))),
 ("unclosed_string", "An unterminated string literal in CEL.", "RTS3000", pipe(F("venue == «'XNAS"))),
 ("non_bool_filter", "A filter condition that is not bool.", "RTS3003", pipe(t('t', 'rtsap.#Filter & {from: "trades", where: «"size * 2"}'))),
 ("misplaced_aggregate_filter", "sum() in a filter.", "RTS3002", pipe(F("«sum(size) > 10"))),
 ("misplaced_aggregate_map", "avg() in a map.", "RTS3002", pipe(M('x: "«avg(price)"'))),
 ("nested_aggregate", "An aggregate inside an aggregate.", "RTS3002", pipe(A('by: ["symbol"], select: {x: "sum(«max(size))"}'))),
 ("ungrouped_field", "A non-key field outside an aggregate.", "RTS3005", pipe(A('by: ["symbol"], select: {x: "«venue"}'))),
 ("mismatched_operands", "string + int.", "RTS3001", pipe(M('x: "venue «+ 1"'))),
 ("mismatched_compare", "Comparing a string with a number.", "RTS3001", pipe(F("venue «> 3"))),
 ("unknown_function", "A function outside the vocabulary.", "RTS3001", pipe(M('x: "«median(price)"'))),
 ("bad_duration_in_cel", "duration() with a bad unit inside CEL.", "RTS1006", pipe(F("ts > ts - duration(«'5x')"))),
 ("bad_date_trunc_unit", "date_trunc with an unknown unit.", "RTS3001", pipe(M('m: "date_trunc(«\'week\', ts)"'))),
 ("bad_decimal_cast", "decimal() with a scale above the precision.", "RTS3001", pipe(M('x: "«decimal(price, 4, 6)"'))),
 ("comprehension", "Comprehension macros have no IR form.", "RTS3001", pipe(F("«[1,2].all(x, x > 0)"))),
 ("row_unknown", "row[\"…\"] with an unknown name.", "RTS2003", pipe(F("row[«'bid price'] > 1.0"))),
 ("unknown_key", "An unknown grouping key, with a suggestion.", "RTS2003", pipe(A('by: [«"symbl"], select: {n: "count()"}'))),
 ("duplicate_column", "A select column named like a key.", "RTS2001", pipe(A('by: ["symbol"], select: {«symbol: "count()"}'))),
 ("missing_event_time_window", "A window on a stream without event time.", "RTS2006", pipe(A('by: ["symbol"], «window: tumble: size: "1m", select: {n: "count()"}'), sources=NOTIME)),
 ("invalid_event_time", "An event-time field that is not a timestamp.", "RTS2007", pipe(F("true"), sources='\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade, eventTime: {field: «"size"}}\n')),
 ("unknown_event_time", "An event-time field that does not exist.", "RTS2003", pipe(F("true"), sources='\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade, eventTime: {field: «"tss"}}\n')),
 ("hop_slide_gt_size", "A hop window whose slide exceeds its size.", "RTS2008", pipe(A('by: ["symbol"], window: hop: {size: "1m", slide: «"5m"}, select: {n: "count()"}'))),
 ("cumulate_step", "A cumulate step that does not divide the size.", "RTS2008", pipe(A('by: ["symbol"], window: cumulate: {size: "1h", step: «"7m"}, select: {n: "count()"}'))),
 ("zero_window", "A zero-size window.", "RTS2008", pipe(A('by: ["symbol"], window: tumble: size: «"0s", select: {n: "count()"}'))),
 ("bad_duration", "A duration with an unknown unit.", "RTS1006", pipe(A('by: ["symbol"], window: tumble: size: «"5 minutes", select: {n: "count()"}'))),
 ("join_key_types", "Join keys of different types.", "RTS2005",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: «"size", right: "bid"}], between: {lower: "-5s", upper: "0s"}}'), sources=QUOTES)),
 ("join_unknown_key", "A join key missing on the right.", "RTS2003",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: «"sym"}], between: {lower: "-5s", upper: "0s"}}'), sources=QUOTES)),
 ("join_unqualified", "A bare field in a join expression.", "RTS2003",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: "symbol"}], between: {lower: "-5s", upper: "0s"}, select: {p: "«price"}}'), sources=QUOTES)),
 ("join_bad_side_field", "right.x where the right side has no x.", "RTS2003",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: "symbol"}], between: {lower: "-5s", upper: "0s"}, select: {p: "right.«price"}}'), sources=QUOTES)),
 ("join_unbounded", "A stream join without a time bound.", "RTS2008",
   pipe(t('«t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: "symbol"}]}'), sources=QUOTES)),
 ("join_lower_after_upper", "lower after upper.", "RTS2008",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: "symbol"}], between: {lower: «"5s", upper: "0s"}}'), sources=QUOTES)),
 ("join_where_not_bool", "A join condition that is not bool.", "RTS3003",
   pipe(t('t', 'rtsap.#Join & {left: from: "trades", right: from: "quotes", on: [{left: "symbol", right: "symbol"}], between: {lower: "-5s", upper: "0s"}, where: «"left.price - right.bid"}'), sources=QUOTES)),
 ("union_schema", "Union of different records.", "RTS2004",
   pipe(t('t', 'rtsap.#Union & {from: ["trades", «"quotes"]}'), sources=QUOTES)),
 ("sink_key_unknown", "An upsert key that is not a column.", "RTS2003",
   pipe(F("true"), sinks='\tsinks: {\n\t\tout: kafka.#Sink & {from: "t", topic: "x", key: [«"sym"]}\n\t\tlog: stdout.#Sink & {from: "t"}\n\t}\n')),
 ("cycle", "Three transforms in a cycle.", "RTS2002",
   pipe(t('a', 'rtsap.#Filter & {from: «"c", where: "true"}') + t('b', 'rtsap.#Filter & {from: "a", where: "true"}') + t('c', 'rtsap.#Filter & {from: "b", where: "true"}') + F("true"))),
 ("self_loop", "A transform reading itself.", "RTS2002",
   pipe(t('t', 'rtsap.#Filter & {from: «"t", where: "true"}'))),
 ("sink_as_input", "Reading from a sink.", "RTS2000",
   pipe(F("true") + t('u', 'rtsap.#Filter & {from: «"out", where: "true"}'), sinks='\tsinks: {\n\t\tout: stdout.#Sink & {from: "t"}\n\t\tout2: stdout.#Sink & {from: "u"}\n\t}\n')),
 ("duplicate_dead_letter", "A dead-letter name that is already a node.", "RTS2001",
   pipe(F("true").replace("\t\tt:", "\t\t«t:"), sources='\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade, onError: {policy: "deadletter", deadLetter: "t"}}\n')),
 ("pattern_syntax", "A pattern with a bad quantifier.", "RTS3004",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A «{2,1} B", define: {A: "size > 0", B: "size > 0"}, measures: {p: "A.price"}}'))),
 ("pattern_undefined_var", "A define for a variable not in the pattern.", "RTS3004",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A B+", define: {A: "size > 0", «C: "size > 0"}, measures: {p: "A.price"}}'))),
 ("pattern_define_not_bool", "A define that is not bool.", "RTS3003",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A B+", define: {A: «"size"}, measures: {p: "A.price"}}'))),
 ("pattern_no_event_time", "A pattern on a stream without event time.", "RTS2006",
   pipe(t('«t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A B", define: {A: "size > 0"}, measures: {p: "A.price"}}'), sources=NOTIME)),
 ("pattern_var_field", "A pattern variable's unknown field.", "RTS2003",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A B", define: {B: "B.price > A.«prise"}, measures: {p: "A.price"}}'))),
 ("rolling_no_event_time", "A rolling range without event time.", "RTS2006",
   pipe(t('«t', 'rtsap.#Rolling & {from: "trades", by: ["symbol"], range: "1m", select: {a: "avg(price)"}}'), sources=NOTIME)),
 ("rolling_order_not_time", "Rolling ordered by a non-timestamp field.", "RTS2007",
   pipe(t('t', 'rtsap.#Rolling & {from: "trades", by: ["symbol"], orderBy: «"size", range: "1m", select: {a: "avg(price)"}}'))),
 ("topn_unknown_order", "Top-N ordered by an unknown field.", "RTS2003",
   pipe(t('t', 'rtsap.#TopN & {from: "trades", by: ["symbol"], orderBy: [{field: «"sise", desc: true}], n: 3}'))),
 ("dedupe_unknown_key", "Dedupe by an unknown field.", "RTS2003",
   pipe(t('t', 'rtsap.#Dedupe & {from: "trades", by: [«"id"]}'))),
 ("having_not_bool", "A having clause that is not bool.", "RTS3003",
   pipe(A('by: ["symbol"], select: {n: "count()"}, having: «"n"'))),
 ("having_unknown", "having reads the aggregate's output only.", "RTS2003",
   pipe(A('by: ["symbol"], select: {n: "count()"}, having: "«price > 1.0"'))),
 ("map_drop_unknown", "Dropping a field that does not exist.", "RTS2003",
   pipe(t('t', 'rtsap.#Map & {from: "trades", keep: true, drop: [«"sizes"], select: {x: "1"}}'))),
 ("record_as_value", "A pattern variable used as a value.", "RTS3001",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "A B", define: {B: "size > 0"}, measures: {p: "«A"}}'))),
 ("nullable_into_required", "A nullable column into a required sink column.", "RTS2004",
   pipe(M('symbol: "symbol", cond: "cond"'), sinks='\tsinks: out: stdout.#Sink & {from: "t", schema: {symbol: "string", «cond: "string"}}\n')),
 ("sink_narrow_decimal", "A decimal too wide for the sink's column.", "RTS2004",
   pipe(M('symbol: "symbol", price: "price"'), sinks='\tsinks: out: stdout.#Sink & {from: "t", schema: {symbol: "string", «price: "decimal(10,2)"}}\n')),
 ("mixed_eq", "== between decimal and int (CEL needs 100.0).", "RTS3001", pipe(F("price «== 100"))),
 ("unknown_join_type_alias", "Both join sides with the same alias.", "RTS2001",
   pipe(t('t', 'rtsap.#Join & {left: {from: "trades", as: "x"}, right: {from: "quotes", as: «"x"}, on: [{left: "symbol", right: "symbol"}], between: {lower: "-5s", upper: "0s"}}'), sources=QUOTES)),
 ("parse_error_one", "Only the first syntax error is reported.", "RTS3000",
   pipe(F("true") + t("spare", "rtsap.#Filter & {from: \"trades\", where: \"size > 0.5«.1\"}"))),
 ("no_cascade", "A failed column is not reported again downstream; other mistakes still are.", ["RTS2003", "RTS2003"],
   pipe(t('m', 'rtsap.#Map & {from: "trades", select: {x: "«pricee * 2.0", s: "size"}}') + t('t', 'rtsap.#Filter & {from: "m", where: "x > 1.0 && «sizee > 0"}'))),
 ("pattern_group", "Pattern groups are not supported.", "RTS3004",
   pipe(t('t', 'rtsap.#Pattern & {from: "trades", partitionBy: ["symbol"], pattern: "«(A B)+", define: {A: "size > 0", B: "size > 0"}, measures: {p: "A.price"}}'))),
 ("workflow_unknown_pipeline", "A workflow step naming a pipeline that does not exist.", "RTS2011",
   pipe(F("true"), extra='') + 'workflows: w: rtsap.#Workflow & {steps: run: pipeline: «"pp"}\n'),
 ("escaped_string", "Escapes in the CUE string shift the column of the bad token.", "RTS2003",
   pipe(F('venue != \\"DARK\\" && \\u0073ize > 0 && «sizee > 0'))),
 ("multiline_string", "A multi-line CUE string: the bad token's line and column in the file.", "RTS2003",
   pipe(t('t', 'rtsap.#Filter & {from: "trades", where: """\n\t\t\tvenue != \'DARK\' &&\n\t\t\t\t«sizee > 0\n\t\t\t"""}'))),
 ("workflow_cycle", "Workflow steps that wait for each other.", "RTS2012",
   pipe(F("true"), extra='\tmode: "batch"\n', sources='\tsources: trades: kafka.#Source & {topic: "md.trades", schema: #Trade, bounded: true}\n') +
   'workflows: w: rtsap.#Workflow & {steps: {\n\t«a: {pipeline: "p", dependsOn: ["b"]}\n\tb: {pipeline: "p", dependsOn: ["a"]}\n}}\n'),
 ("sink_missing_column", "A required sink column the input does not produce, with a suggestion.", "RTS2004",
   pipe(M('sym: "symbol"'), sinks='\tsinks: out: stdout.#Sink & {from: "t", schema: {sym: "string", «symbl: "string"}}\n')),
]

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, '..', 'testdata')
for name, desc, code, body in cases:
    text = HDR + body
    wants = []
    while '«' in text:
        i = text.index('«')
        line = text.count('\n', 0, i) + 1
        col = len(text[text.rfind('\n', 0, i) + 1:i].encode()) + 1
        wants.append((line, col))
        text = text[:i] + text[i + len('«'):]
    comment = '# %s\n' % desc
    for k, (line, col) in enumerate(wants):
        c = code[k] if isinstance(code, list) else code
        comment += '#want %s pipeline.cue:%d:%d\n' % (c, line, col)
    path = os.path.join(out, 'err_%s.txtar' % name)
    old = ''
    if os.path.exists(path):
        old = open(path).read()
    outs = old[old.find('-- out/'):] if '-- out/' in old else ''
    open(path, 'w').write(comment + '-- pipeline.cue --\n' + text + outs)
print(len(cases), 'cases')
