// Package duration parses the duration strings of the spec language: a
// sequence of number+unit terms, units ms, s, m, h, d (24h) and w (7d), as
// in "250ms", "5s", "1m", "1h30m", "1d". Fractions are allowed ("1.5h").
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var units = []struct {
	name string
	d    time.Duration
}{ // longest names first, so "ms" wins over "m"
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
	{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
}

// Parse parses s. The error names the offending part.
func Parse(s string) (time.Duration, error) {
	in := s
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number at %q", in, s)
		}
		num, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: bad number %q", in, s[:i])
		}
		s = s[i:]
		var unit time.Duration
		for _, u := range units {
			if strings.HasPrefix(s, u.name) {
				unit = u.d
				s = s[len(u.name):]
				break
			}
		}
		if unit == 0 {
			if s == "" {
				return 0, fmt.Errorf("duration %q: missing unit (ms, s, m, h, d)", in)
			}
			return 0, fmt.Errorf("duration %q: unknown unit at %q (use ms, s, m, h, d)", in, s)
		}
		v := num * float64(unit)
		if v > float64(1<<62) {
			return 0, fmt.Errorf("duration %q: too large", in)
		}
		total += time.Duration(v)
		if total > 1<<62 {
			return 0, fmt.Errorf("duration %q: too large", in)
		}
	}
	if neg {
		total = -total
	}
	return total, nil
}
