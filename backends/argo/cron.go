package argo

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Argo parses schedules with robfig/cron v3's standard parser (five fields,
// or a descriptor) after putting "CRON_TZ=<timezone> " in front. cronError
// applies the same rules, so a schedule the controller would refuse is
// reported at build and vet time instead.

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var cronFieldsSpec = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{name: "day of week", min: 0, max: 6, names: map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

var cronDescriptors = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true}

// cronError returns why Argo would reject expr, or nil.
func cronError(expr string) error {
	if strings.HasPrefix(expr, "@") {
		if cronDescriptors[expr] {
			return nil
		}
		if d, ok := strings.CutPrefix(expr, "@every "); ok {
			if v, err := time.ParseDuration(d); err != nil || v <= 0 {
				return fmt.Errorf("@every needs a positive Go duration such as 1h30m, not %q", d)
			}
			return nil
		}
		return fmt.Errorf("unknown descriptor %q (Argo knows @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly and @every DURATION)", expr)
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return fmt.Errorf("the time zone belongs in the schedule's timezone field, not in the expression")
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return fmt.Errorf("it has %d fields; Argo wants five (minute hour day-of-month month day-of-week)", len(fields))
	}
	for i, f := range fields {
		for _, part := range strings.Split(f, ",") {
			if err := cronRange(part, cronFieldsSpec[i]); err != nil {
				return fmt.Errorf("%s field %q: %v", cronFieldsSpec[i].name, f, err)
			}
		}
	}
	return nil
}

// cronRange checks one comma-separated part: *, ?, N, N-M, each with an
// optional /STEP (robfig's getRange).
func cronRange(part string, f cronField) error {
	rng, stepText, hasStep := strings.Cut(part, "/")
	lo, hi := f.min, f.max
	switch {
	case rng == "*" || rng == "?":
	default:
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = cronValue(a, f); err != nil {
			return err
		}
		hi = lo
		if isRange {
			if hi, err = cronValue(b, f); err != nil {
				return err
			}
		} else if hasStep {
			hi = f.max // "N/STEP" runs from N to the field's end
		}
	}
	if lo < f.min || hi > f.max {
		return fmt.Errorf("%s is outside %d-%d", rng, f.min, f.max)
	}
	if lo > hi {
		return fmt.Errorf("range %s starts after it ends", rng)
	}
	if hasStep {
		step, err := strconv.Atoi(stepText)
		if err != nil || step <= 0 {
			return fmt.Errorf("step %q is not a positive number", stepText)
		}
	}
	return nil
}

func cronValue(s string, f cronField) (int, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return int(v), nil
}
