package expr

import (
	"strings"
	"testing"
	"time"
)

func TestSlowInputs(t *testing.T) {
	c := NewChecker()
	for _, s := range []string{
		strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150),
		strings.Repeat("-", 150) + "1",
		strings.Repeat("!", 150) + "true",
		strings.Repeat("size + ", 300) + "1",
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
		strings.Repeat("a.", 300) + "b",
		strings.Repeat("size > 0 && ", 200) + "true",
		strings.Repeat("x ? ", 100) + "1" + strings.Repeat(" : 2", 100),
	} {
		start := time.Now()
		x, _, ds := c.Check(at(s), single(false))
		d := time.Since(start)
		if x != nil {
			if src, ok := Unparse(x); ok {
				start2 := time.Now()
				c.Check(at(src), single(false))
				if d2 := time.Since(start2); d2 > time.Second {
					t.Errorf("%.30q: unparsed re-check took %v", s, d2)
				}
			}
		}
		if d > time.Second {
			t.Errorf("%.30q took %v (%d diags)", s, d, len(ds))
		}
	}
}
