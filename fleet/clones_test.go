package fleet

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// generateBoth generates the fleet in dir with and without sharing the
// files of hosts alike, and fails when a file differs; it returns how
// many hosts' files were shared.
func generateBoth(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := Load(context.Background(), &Config{Dir: dir, Packages: []string{"./..."}, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { shareClones = true }()
	shareClones = false
	want, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	shareClones = true
	before := cloned.Load()
	got, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	n := cloned.Load() - before
	if len(got) != len(want) {
		t.Fatalf("%d files shared, %d alone", len(got), len(want))
	}
	for i := range want {
		if got[i].Path != want[i].Path {
			t.Fatalf("file %d: %s shared, %s alone", i, got[i].Path, want[i].Path)
		}
		if !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("%s differs when shared:\n%s", got[i].Path, firstDiff(got[i].Data, want[i].Data))
		}
	}
	return n
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-200, 0)
	return "shared: ..." + string(a[lo:min(i+200, len(a))]) + "\nalone:  ..." + string(b[lo:min(i+200, len(b))])
}

func TestClonesTmp(t *testing.T) {
	if _, err := os.Stat("/tmp/clones-f1000"); err != nil {
		t.Skip()
	}
	n := generateBoth(t, "/tmp/clones-f1000")
	t.Logf("%d shared", n)
}
