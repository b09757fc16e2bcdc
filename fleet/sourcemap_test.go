package fleet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFactsCache checks the origins of providers' facts the cache keeps
// (explainFacts): after each kind of edit of a provider, a run with the
// cache, where the monitoring server's files are made again from its
// providers' facts while most of those come from the cache, gives the
// tree, source map included, that a run without the cache gives.
func TestFactsCache(t *testing.T) {
	dir := t.TempDir()
	cold := genFiles(t, "", nil)
	if diff := cmp.Diff(cold, genFiles(t, dir, nil)); diff != "" {
		t.Fatalf("a run filling the cache differs from one without (-without +with):\n%s", diff)
	}
	if len(cacheEntries(t, dir, "facts-")) == 0 {
		t.Fatal("no origins of facts were kept")
	}
	root, err := filepath.Abs(referenceFleet)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "hosts.cue"))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		t.Helper()
		b := bytes.Replace(src, []byte(old), []byte(new), 1)
		if bytes.Equal(b, src) {
			t.Fatalf("hosts.cue has no %q", old)
		}
		return b
	}
	hosts := filepath.Join(root, "hosts.cue")
	for _, c := range []struct {
		name    string
		overlay map[string][]byte
	}{
		// The host's declaration, where facts such as its name are
		// placed, is now also in another file.
		{"a new file declares razer", map[string][]byte{filepath.Join(root, "facts.cue"): []byte("package fleet\n\nhosts: razer: tags: facts: true\n")}},
		// Every position of the provider moves.
		{"razer moves in its file", map[string][]byte{hosts: replace("\trazer: {", "\n\n\trazer: {")}},
		// A value inside the provider moves, its declaration does not.
		{"razer's address moves down a line", map[string][]byte{hosts: replace(`targetHost: "razer.home.freundcloud.com"`, "\n\t\t\ttargetHost: \"razer.home.freundcloud.com\"")}},
		// A fact's value changes, and with it what a monitoring target
		// holds.
		{"razer's address changes", map[string][]byte{hosts: replace(`targetHost: "razer.home.freundcloud.com"`, `targetHost: "razer2.home.freundcloud.com"`)}},
		// Back to the start: the first entries serve again.
		{"no edit", nil},
	} {
		want := genFiles(t, "", c.overlay)
		if diff := cmp.Diff(want, genFiles(t, dir, c.overlay)); diff != "" {
			t.Fatalf("%s: the cached run differs (-generated +cached):\n%s", c.name, diff)
		}
		if c.overlay != nil && cmp.Equal(want, cold) {
			t.Fatalf("%s: the edit changed nothing: the test proves nothing", c.name)
		}
	}
}
