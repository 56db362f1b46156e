package kubestate_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/internal/testenv"
	"rtsap.dev/rtsapc/state"
	"rtsap.dev/rtsapc/state/kubestate"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedKube()
	os.Exit(code)
}

func TestStoreAndLease(t *testing.T) {
	k, err := testenv.SharedKubeBare()
	if err != nil {
		t.Fatal(err)
	}
	if k == nil {
		t.Skip(testenv.KubeSkipMessage)
	}
	ctx := context.Background()
	for _, cm := range []bool{false, true} {
		name := "rtsapc-state-secret"
		if cm {
			name = "rtsapc-state-cm"
		}
		s, err := kubestate.New(k.Config, "default", name, cm)
		if err != nil {
			t.Fatal(err)
		}
		s.LeaseDuration = 2 * time.Second
		if st, err := s.Read(ctx); st != nil || err != nil {
			t.Fatalf("Read of an empty store = %v, %v", st, err)
		}
		unlock, err := s.Lock(ctx, &state.LockInfo{ID: "a", Who: "alice@host", PID: 7, Operation: "apply"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		st := state.New()
		for i := 0; i < 3; i++ {
			st.Serial++
			if err := s.Write(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Read(ctx)
		if err != nil || got.Serial != 3 || got.Lineage != st.Lineage {
			t.Fatalf("Read = %+v, %v", got, err)
		}
		// Held: another holder is refused with the holder's name, even
		// after more than a lease duration (the holder renews).
		time.Sleep(2500 * time.Millisecond)
		_, err = s.Lock(ctx, &state.LockInfo{ID: "b", Who: "bob@host"}, 300*time.Millisecond)
		var le *state.LockedError
		if !errors.As(err, &le) || le.Holder == nil || le.Holder.Who != "alice@host" || !strings.Contains(err.Error(), "pid 7") {
			t.Fatalf("second Lock = %v; want LockedError naming alice@host", err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		unlock2, err := s.Lock(ctx, &state.LockInfo{ID: "b", Who: "bob@host"}, 5*time.Second)
		if err != nil {
			t.Fatalf("Lock after release: %v", err)
		}
		unlock2()
	}
}
