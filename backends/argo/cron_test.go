package argo

import "testing"

// TestCron: what robfig/cron v3's standard parser (Argo's) accepts and
// rejects.
func TestCron(t *testing.T) {
	for _, ok := range []string{"30 18 * * 1-5", "*/15 * * * *", "0 0 1 JAN,jul ?", "0 9-17/2 * * MON-FRI", "5 4 * * sun",
		"0 0 * * 0", "@daily", "@every 1h30m", "0 0/6 * * *", "59 23 31 12 6"} {
		if err := cronError(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"every day", "61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7", "*/0 * * * *",
		"5-1 * * * *", "1,,2 * * * *", "* * * * * *", "@weekdays", "@every soon", "@every -1h", "CRON_TZ=UTC 0 0 * * *", "0 0 * FOO *", ""} {
		if err := cronError(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
