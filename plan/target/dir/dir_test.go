package dir

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/plan/target"
)

// Names come from artifacts and from the state file, which a person can
// edit: none may reach outside the folder.
func TestNamesStayInside(t *testing.T) {
	root := filepath.Join(t.TempDir(), "deploy")
	outside := filepath.Join(filepath.Dir(root), "victim")
	os.WriteFile(outside, []byte("keep"), 0o644)
	d := &Target{Root: root}
	ctx := context.Background()
	for _, name := range []string{"../victim", "/etc/passwd", "a/../../victim", "", ".", "a//b", "a\x00b"} {
		r := &target.Resource{Addr: Addr(name), Name: name, Body: Body([]byte("x"))}
		if err := d.Apply(ctx, r, nil); err == nil {
			t.Errorf("Apply(%q) succeeded", name)
		}
		if err := d.Delete(ctx, r); err == nil {
			t.Errorf("Delete(%q) succeeded", name)
		}
		if _, err := d.Read(ctx, []*target.Resource{r}); err == nil {
			t.Errorf("Read(%q) succeeded", name)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Fatal("a file outside the folder was changed")
	}
}

func TestBytesAndEmptyDirs(t *testing.T) {
	root := t.TempDir()
	d := &Target{Root: root}
	ctx := context.Background()
	bin := []byte{0xff, 0x00, 0xfe}
	r := &target.Resource{Addr: Addr("a/b/c.bin"), Name: "a/b/c.bin", Body: Body(bin)}
	if _, ok := r.Body["base64"]; !ok {
		t.Fatalf("non-UTF-8 body %v", r.Body)
	}
	if err := d.Apply(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	live, _ := d.Read(ctx, []*target.Resource{r})
	if live[r.Addr]["base64"] != r.Body["base64"] {
		t.Errorf("read back %v", live[r.Addr])
	}
	if err := d.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Errorf("empty directories left behind: %v", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed: %v", err)
	}
}
