package cep

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/row"
)

var (
	fuzzQuants  = []string{"", "+", "*", "?", "+?", "*?", "{2}", "{1,3}", "{0,2}?", "{2,}", "{2,}?"}
	fuzzDefines = []string{"", "price > 5", "price < 5", "sum(%s.price) < 30", "price > last(%s.price, 1)",
		"price < coalesce(last(%s.price, 1), 100)", "count() > 2", "price == %s.price", "true"}
	fuzzSkips = []ir.SkipStrategy{ir.SkipPastLastRow, ir.SkipToNextRow, ir.SkipToFirst, ir.SkipToLast}
)

// FuzzMatcher: any pattern of the supported shapes over any rows runs
// without panicking, its state survives Marshal/Unmarshal, and every match
// spans forward in time.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 0, 9, 8, 7, 1, 1, 12, 3, 5, 7})
	f.Add([]byte{2, 2, 3, 9, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		n := 1 + int(data[0])%3
		data = data[1:]
		names := []string{"A", "B", "C"}
		var text []string
		p := pat{measures: [][2]string{{"n", "count()"}, {"a", "first(price)"}, {"z", "last(price)"}}}
		for i := 0; i < n && len(data) >= 2; i++ {
			text = append(text, names[i]+fuzzQuants[int(data[0])%len(fuzzQuants)])
			if d := fuzzDefines[int(data[1])%len(fuzzDefines)]; d != "" {
				p.define = append(p.define, [2]string{names[i], strings.ReplaceAll(d, "%s", names[i])})
			}
			p.measures = append(p.measures, [2]string{"l" + names[i], names[i] + ".price"})
			data = data[2:]
		}
		if len(data) < 2 {
			return
		}
		p.pattern = strings.Join(text, " ")
		p.skip = fuzzSkips[int(data[0])%len(fuzzSkips)]
		p.to = names[int(data[1])%n]
		if data[1]&0x80 != 0 {
			p.within = time.Duration(data[1]&0x7f) * time.Second
		}
		data = data[2:]
		op := &ir.Pattern{Terms: terms(t, p.pattern), Skip: p.skip, SkipTo: p.to}
		if len(Unsupported(op)) > 0 {
			return
		}
		m := compile(t, ticker, p)
		var rs []row.Row
		ts := base
		for i, b := range data {
			if i > 48 {
				break
			}
			ts = ts.Add(time.Duration(b>>5) * time.Second)
			rs = append(rs, row.Row{"XYZ", int64(b & 0x1f), int64(0), ts})
		}
		s := m.NewState()
		for _, r := range rs {
			res, _, err := m.Process(s, r, r[3].(time.Time).UnixMilli())
			if err != nil {
				return // skip to a missing variable fails, as in Flink
			}
			for _, x := range res {
				if x.First > x.Last || len(x.Row) != len(p.measures)+1 {
					t.Fatalf("bad result %+v", x)
				}
			}
			b := m.Marshal(s)
			if s, err = m.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.Advance(s, 1<<62); err != nil && !strings.Contains(err.Error(), "skip") {
			t.Fatal(err)
		}
	})
}

// FuzzUnmarshal: corrupt state is an error, never a panic.
func FuzzUnmarshal(f *testing.F) {
	m := compile(f, ticker, skipCase)
	s := m.NewState()
	for _, r := range rows(7, 9, 10) {
		m.Process(s, r, r[3].(time.Time).UnixMilli())
	}
	f.Add(m.Marshal(s))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := m.Unmarshal(b)
		if err != nil {
			return
		}
		for _, r := range rows(1, 20, 3) {
			if _, _, err := m.Process(st, r, r[3].(time.Time).UnixMilli()+1<<40); err != nil {
				return
			}
		}
	})
}
