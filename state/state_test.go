package state

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReadBackups(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := &Local{Path: filepath.Join(dir, "sub", "state.json"), Backups: 2}
	if s, err := l.Read(ctx); s != nil || err != nil {
		t.Fatalf("Read of missing state = %v, %v; want nil, nil", s, err)
	}
	s := New()
	for i := 0; i < 4; i++ {
		s.Serial++
		s.Put(&Resource{Addr: "b" + string(rune('0'+i)), Digest: "sha256:x", Body: json.RawMessage(`{}`)})
		// A new Local per write: one backup per run, as each CLI run has.
		l = &Local{Path: l.Path, Backups: 2}
		if err := l.Write(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := l.Write(ctx, s); err != nil { // no second backup in one run
			t.Fatal(err)
		}
	}
	got, err := l.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 4 || got.Lineage != s.Lineage || len(got.Resources) != 4 {
		t.Fatalf("read back serial %d lineage %q %d resources; want 4, %q, 4", got.Serial, got.Lineage, len(got.Resources), s.Lineage)
	}
	ents, _ := os.ReadDir(l.Path + ".backups")
	if len(ents) != 2 {
		t.Fatalf("%d backups, want 2 (Backups: 2)", len(ents))
	}
	if !strings.HasSuffix(ents[1].Name(), "-0000000003.json") {
		t.Errorf("newest backup %s, want serial 3", ents[1].Name())
	}
	// No temp files left behind by the atomic writes.
	all, _ := os.ReadDir(filepath.Dir(l.Path))
	for _, e := range all {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if fi, _ := os.Stat(l.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{`{"version": 2, "lineage": "x", "serial": 1, "resources": []}`, `{"version": 1, "serial": 1}`, `{"version": 1, "lineage": "x", "bogus": 1}`, `not json`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%s) succeeded", in)
		}
	}
}

func TestLockNamesHolderAndWaits(t *testing.T) {
	ctx := context.Background()
	l := &Local{Path: filepath.Join(t.TempDir(), "state.json")}
	holder := &LockInfo{ID: "id-1", Operation: "apply", Who: "alice@host", PID: 42, Created: time.Unix(0, 0)}
	unlock, err := l.Lock(ctx, holder, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Lock(ctx, &LockInfo{ID: "id-2", Who: "bob@host"}, 0)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.Who != "alice@host" || le.Holder.PID != 42 {
		t.Fatalf("second Lock = %v; want a LockedError naming alice@host pid 42", err)
	}
	if !strings.Contains(err.Error(), "alice@host") || !strings.Contains(err.Error(), "apply") {
		t.Errorf("message %q does not name the holder and operation", err)
	}
	// A waiter with a timeout gets the lock once it is released.
	go func() {
		time.Sleep(200 * time.Millisecond)
		unlock()
	}()
	start := time.Now()
	unlock2, err := l.Lock(ctx, &LockInfo{ID: "id-3", Who: "carol@host"}, 10*time.Second)
	if err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("Lock returned after %v, before the holder released it", time.Since(start))
	}
	unlock2()
	// Timeout expires while held.
	unlock3, _ := l.Lock(ctx, holder, 0)
	defer unlock3()
	start = time.Now()
	if _, err := l.Lock(ctx, &LockInfo{}, 300*time.Millisecond); !errors.As(err, &le) {
		t.Fatalf("Lock with timeout = %v; want LockedError", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("Lock gave up after %v; want about 300ms", d)
	}
}

func TestPutRemoveSorted(t *testing.T) {
	s := New()
	for _, a := range []string{"c", "a", "b", "a"} {
		s.Put(&Resource{Addr: a})
	}
	s.Remove("b")
	var got []string
	for _, r := range s.Resources {
		got = append(got, r.Addr)
	}
	if strings.Join(got, ",") != "a,c" || s.Lookup("c") == nil || s.Lookup("b") != nil {
		t.Errorf("resources %v, want a,c", got)
	}
}
