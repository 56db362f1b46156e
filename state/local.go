package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Local keeps the state in a JSON file. The lock is a sibling file
// "<path>.lock" held with an OS file lock (released by the kernel when the
// holder dies, so a killed apply never leaves the state locked) and holding
// the holder's LockInfo. Each write first copies the previous state to
// "<path>.backups/<lineage>-<serial>.json", keeping the newest Backups of
// them. An apply writes the state after every change, so only the first
// write through a Local backs up: one backup per run, the state before it.
type Local struct {
	Path string
	// Backups is how many previous states to keep (0 means 10).
	Backups int

	backedUp bool
}

var _ Store = (*Local)(nil)

func (l *Local) Describe() string { return "state file " + l.Path }

func (l *Local) Read(context.Context) (*State, error) {
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Path, err)
	}
	return s, nil
}

func (l *Local) Write(_ context.Context, s *State) error {
	data, err := s.Encode()
	if err != nil {
		return err
	}
	dir := filepath.Dir(l.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !l.backedUp {
		if err := l.backup(); err != nil {
			return fmt.Errorf("state backup: %w", err)
		}
		l.backedUp = true
	}
	return WriteFileAtomic(l.Path, data, 0o600)
}

// backup copies the current file (if any) into the backups directory.
func (l *Local) backup() error {
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	old, err := Decode(data)
	if err != nil {
		return nil // an unreadable old state is not worth a backup, and must not block a write
	}
	bdir := l.Path + ".backups"
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%010d.json", old.Lineage, old.Serial)
	if err := WriteFileAtomic(filepath.Join(bdir, name), data, 0o600); err != nil {
		return err
	}
	keep := l.Backups
	if keep <= 0 {
		keep = 10
	}
	ents, err := os.ReadDir(bdir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for len(names) > keep {
		os.Remove(filepath.Join(bdir, names[0]))
		names = names[1:]
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file next to path, syncs it,
// renames it over path and syncs the directory, so readers see the old or the
// new content and never a torn file, even across a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: some filesystems refuse to sync directories
		d.Close()
	}
	return nil
}

func (l *Local) Lock(ctx context.Context, info *LockInfo, timeout time.Duration) (func() error, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
		return nil, err
	}
	lockPath := l.Path + ".lock"
	start := time.Now()
	delay := 50 * time.Millisecond
	for {
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		got, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if got {
			data, _ := json.MarshalIndent(info, "", "  ")
			f.Truncate(0)
			f.WriteAt(append(data, '\n'), 0)
			f.Sync()
			return func() error {
				// Clear the holder before releasing, so a stale file never
				// names someone who is gone.
				f.Truncate(0)
				unlockFile(f)
				return f.Close()
			}, nil
		}
		holder := readHolder(f)
		f.Close()
		waited := time.Since(start)
		if waited >= timeout {
			return nil, &LockedError{Holder: holder, Waited: timeout}
		}
		select {
		case <-ctx.Done():
			return nil, &LockedError{Holder: holder, Waited: waited}
		case <-time.After(min(delay, timeout-waited)):
		}
		delay = min(delay*2, time.Second)
	}
}

func readHolder(f *os.File) *LockInfo {
	var li LockInfo
	data := make([]byte, 4096)
	n, _ := f.ReadAt(data, 0)
	if n == 0 || json.Unmarshal(data[:n], &li) != nil {
		return nil
	}
	return &li
}
