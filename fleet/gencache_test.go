package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/load"
)

// genFiles loads the reference fleet, with the overlay and the cache in
// cacheDir ("" for none), and returns its generated files by path.
func genFiles(t *testing.T, cacheDir string, overlay map[string][]byte) map[string]string {
	t.Helper()
	f, err := Load(context.Background(), &Config{Dir: referenceFleet, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, file := range files {
		out[file.Path] = string(file.Data)
	}
	return out
}

// genEntries counts the generation entries in the cache dir.
func genEntries(t *testing.T, dir string) int {
	t.Helper()
	return len(cacheEntries(t, dir, "gen-"))
}

// cacheEntries returns the keys of the entries of kind (a prefix such as
// "gen-") kept in the cache dir, in files of their own or in an index.
func cacheEntries(t *testing.T, dir, kind string) []string {
	t.Helper()
	all, err := load.Entries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range all {
		if strings.HasPrefix(k, kind) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestGenerateCache checks that files served from the cache are the files
// generation makes: warm, after a host changed, and after a host that
// others' source maps point into (the binary cache) moved in its file,
// which changes where their substituters come from but none of their own
// values.
func TestGenerateCache(t *testing.T) {
	dir := t.TempDir()
	cold := genFiles(t, "", nil)
	if diff := cmp.Diff(cold, genFiles(t, dir, nil)); diff != "" {
		t.Fatalf("a run filling the cache differs from one without (-without +with):\n%s", diff)
	}
	entries := genEntries(t, dir)
	if entries == 0 {
		t.Fatal("no generation entries were kept")
	}
	if diff := cmp.Diff(cold, genFiles(t, dir, nil)); diff != "" {
		t.Fatalf("a run from the cache differs from generation (-generated +cached):\n%s", diff)
	}
	if n := genEntries(t, dir); n != entries {
		t.Errorf("a run from the cache added %d entries", n-entries)
	}

	// One host changes: its files change, the others come from the cache.
	root, _ := filepath.Abs(referenceFleet)
	edit := map[string][]byte{filepath.Join(root, "gencache.cue"): []byte("package fleet\n\nhosts: samsung: tags: gencache: true\n")}
	want := genFiles(t, "", edit)
	if diff := cmp.Diff(want, genFiles(t, dir, edit)); diff != "" {
		t.Fatalf("after an edit, the cached run differs (-generated +cached):\n%s", diff)
	}

	// p620, the binary cache, moves two lines down: every host's
	// substituter now comes from another line of hosts.cue.
	src, err := os.ReadFile(filepath.Join(root, "hosts.cue"))
	if err != nil {
		t.Fatal(err)
	}
	moved := bytes.Replace(src, []byte("\tp620: {"), []byte("\n\n\tp620: {"), 1)
	if bytes.Equal(moved, src) {
		t.Fatal("hosts.cue has no p620 to move")
	}
	shift := map[string][]byte{filepath.Join(root, "hosts.cue"): moved}
	want = genFiles(t, "", shift)
	got := genFiles(t, dir, shift)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after moving the cache host, the cached run differs (-generated +cached):\n%s", diff)
	}
	if p510 := emit.HostSourceMapFile("p510"); want[p510] == cold[p510] || !strings.Contains(want[p510], "hosts.cue") {
		t.Fatal("moving p620 did not change p510's source map: the test proves nothing")
	}
}

// referenceFleet is the repository root, where the reference fleet lives.
const referenceFleet = ".."

// TestGenerateStreams checks that the tree Generate writes is the tree
// files returns, and that a second run changes nothing.
func TestGenerateStreams(t *testing.T) {
	dir := copyFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	want, out, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(out)
	res, err := f.Generate(GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != len(want) {
		t.Errorf("wrote %d files, want %d", len(res.Written), len(want))
	}
	for _, file := range want {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, file.Data) {
			t.Errorf("%s differs from what files returns", file.Path)
		}
	}
	again, err := f.Generate(GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Stale() {
		t.Errorf("a second run changed %v %v", again.Written, again.Removed)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".new") {
			t.Errorf("a staging directory was left behind: %s", e.Name())
		}
	}
}

// TestGenerateCacheFiles checks that an unchanged host's files are not
// read from the cache when the tree has them as the last run left them,
// and that a host whose files the tree lacks gets them from the cache,
// or, when that entry is missing or damaged, generated again: the tree is
// always the one an uncached run writes.
func TestGenerateCacheFiles(t *testing.T) {
	dir := copyFleet(t)
	cache := t.TempDir()
	out := filepath.Join(dir, "nix")
	gen := func(cacheDir string) (wrote []string, filesRead int64) {
		t.Helper()
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		before := genFilesRead.Load()
		res, err := f.Generate(GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Written {
			rel, _ := filepath.Rel(out, p)
			wrote = append(wrote, filepath.ToSlash(rel))
		}
		return wrote, genFilesRead.Load() - before
	}
	gen("")
	want := readTree(t, out)
	gen(cache) // fills the cache
	gen(cache) // records the manifest of the tree as it is
	if wrote, read := gen(cache); len(wrote) != 0 || read != 0 {
		t.Fatalf("an unchanged run wrote %v and read %d hosts' files from the cache, want none", wrote, read)
	}
	host := filepath.Join(out, "hosts", "samsung.nix")
	for _, tc := range []struct {
		name string
		// damage does something to the cache's entries of files.
		damage func(path string)
		// read: the host's files come from the cache.
		read bool
	}{
		{"entry there", func(string) {}, true},
		{"entry missing", func(p string) { os.Remove(p) }, false},
		{"entry damaged", func(p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.LastIndex(b, []byte("samsung")) // in a file's data
			if i < 0 {
				t.Fatalf("%s does not hold samsung's files", p)
			}
			b[i] = 'S'
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names, err := filepath.Glob(filepath.Join(cache, "??", "genfiles-*"))
			if err != nil || len(names) == 0 {
				t.Fatalf("no entries of files in the cache (%v)", err)
			}
			for _, p := range names {
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte("hosts/samsung.nix")) {
					tc.damage(p)
				}
			}
			// A hand edit of the host's module: the manifest no longer
			// knows it.
			if err := os.WriteFile(host, []byte("# Code generated by fleetgen. DO NOT EDIT.\n{ }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			wrote, read := gen(cache)
			if len(wrote) != 1 || wrote[0] != "hosts/samsung.nix" {
				t.Errorf("the run wrote %v, want hosts/samsung.nix", wrote)
			}
			if tc.read && read != 1 || !tc.read && read != 0 {
				t.Errorf("the run read %d hosts' files from the cache, want %d", read, map[bool]int{true: 1}[tc.read])
			}
			if got := readTree(t, out); !sameTree(want, got) {
				t.Error("the tree differs from the one an uncached run writes")
			}
		})
	}
}
