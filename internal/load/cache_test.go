package load

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"fleetnix.dev/fleet/schema"
)

// entries lists the cache entries in dir by kind ("host", "derive",
// "fleet").
func entries(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	kept, err := Entries(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name := range kept {
		kind, _, _ := strings.Cut(name, "-")
		out[kind] = append(out[kind], name)
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// results are what a load computed for each host, by name: its
// evaluation and its derivation.
func results(f *Fleet) map[string][2]any {
	out := map[string][2]any{}
	for _, h := range f.Hosts {
		out[h.Name] = [2]any{h.parts(), string(h.Derived)}
	}
	return out
}

func loadReference(t *testing.T, cacheDir string, overlay map[string][]byte) *Fleet {
	t.Helper()
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
	if f == nil {
		t.Fatal(d)
	}
	return f
}

// TestCache checks that a load served from the cache computes exactly
// what evaluation computes, that a changed host is evaluated again (and
// only it), and that a damaged entry is evaluated again.
func TestCache(t *testing.T) {
	dir := t.TempDir()
	cold := loadReference(t, "", nil)
	first := loadReference(t, dir, nil)
	if diff := cmp.Diff(results(cold), results(first)); diff != "" {
		t.Fatalf("a load filling the cache differs from one without (-without +with):\n%s", diff)
	}
	before := entries(t, dir)
	if len(before["host"]) != len(cold.Hosts) || len(before["derive"]) != len(cold.Hosts) || len(before["fleet"]) != 1 {
		t.Fatalf("cache entries after one load: %d host, %d derive, %d fleet; want %d, %d, 1",
			len(before["host"]), len(before["derive"]), len(before["fleet"]), len(cold.Hosts), len(cold.Hosts))
	}
	warm := loadReference(t, dir, nil)
	if diff := cmp.Diff(results(cold), results(warm)); diff != "" {
		t.Fatalf("a load from the cache differs from evaluation (-evaluated +cached):\n%s", diff)
	}
	if diff := cmp.Diff(before, entries(t, dir)); diff != "" {
		t.Errorf("a load from the cache added entries:\n%s", diff)
	}

	// One host changes: it alone is evaluated again, and its result is
	// the new one.
	root, _ := filepath.Abs("../..")
	overlay := map[string][]byte{filepath.Join(root, "cachetest.cue"): []byte("package fleet\n\nhosts: samsung: tags: cachetest: true\n")}
	changed := loadReference(t, dir, overlay)
	after := entries(t, dir)
	if added := len(after["host"]) - len(before["host"]); added != 1 {
		t.Errorf("changing one host added %d host entries, want 1", added)
	}
	// The entries of before are still kept (the index holds what this
	// load did not use too): going back to it evaluates nothing.
	for kind, names := range before {
		for _, name := range names {
			if !slices.Contains(after[kind], name) {
				t.Errorf("entry %s of the first load was dropped by a load of an edit", name)
			}
		}
	}
	for _, h := range changed.Hosts {
		has := bytes.Contains(h.JSON(), []byte(`"cachetest"`))
		if has != (h.Name == "samsung") {
			t.Errorf("%s: JSON has the new tag: %v", h.Name, has)
		}
	}

	// A damaged entry is evaluated again and replaced.
	damage(t, dir, append(before["host"], before["hostrec"]...))
	again := loadReference(t, dir, nil)
	if diff := cmp.Diff(results(cold), results(again)); diff != "" {
		t.Fatalf("a load over damaged entries differs from evaluation (-evaluated +damaged):\n%s", diff)
	}
}

// damage replaces the entries names of the cache in dir, in their own
// files or in the index, by bytes that are no entry.
func damage(t *testing.T, dir string, names []string) {
	t.Helper()
	bad := map[string]bool{}
	for _, name := range names {
		bad[name] = true
		_, sum, _ := strings.Cut(name, "-")
		p := filepath.Join(dir, sum[:2], name)
		if _, err := os.Stat(p); err == nil {
			if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	indexes, _ := filepath.Glob(filepath.Join(dir, "??", "index-*"))
	damaged := 0
	for _, p := range indexes {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := decodeIndex(b)
		for k := range m {
			if bad[k] {
				m[k] = []byte("{not json")
				damaged++
			}
		}
		if err := os.WriteFile(p, encodeIndex(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(indexes) == 0 || damaged == 0 {
		t.Fatalf("no index, or no entry damaged in it (%d indexes): the test proves nothing", len(indexes))
	}
}

// TestCacheKeepsNoFailure checks that a host whose evaluation fails
// leaves nothing in the cache, so its errors are reported every time.
func TestCacheKeepsNoFailure(t *testing.T) {
	dir := t.TempDir()
	root, _ := filepath.Abs("../..")
	// A binary cache needs its signing keys.
	overlay := map[string][]byte{filepath.Join(root, "cachetest.cue"): []byte("package fleet\n\nhosts: samsung: stateVersion: \"25.05\"\nhosts: samsung: nix: serve: enable: true\n")}
	for i := range 2 {
		f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS, CacheDir: dir, Overlay: overlay})
		if f != nil || !d.HasErrors() {
			t.Fatalf("load %d: a cache without keys was accepted", i)
		}
		if !strings.Contains(d.Error(), "publicKey") {
			t.Errorf("load %d: errors do not name the missing key:\n%v", i, d)
		}
	}
	if n := len(entries(t, dir)["host"]); n != 4 {
		t.Errorf("%d host entries after two failed loads, want the 4 hosts that evaluated", n)
	}
}

// TestCanonical checks that the cache key tells apart values CUE tells
// apart, and only by value.
func TestCanonical(t *testing.T) {
	enc := func(x any) string {
		b, ok := canonical(x)
		if !ok {
			t.Fatalf("canonical(%#v) failed", x)
		}
		return string(b)
	}
	same := [][2]any{
		{map[string]any{"a": int64(1), "b": "x"}, map[string]any{"b": "x", "a": int64(1)}},
	}
	for _, p := range same {
		if enc(p[0]) != enc(p[1]) {
			t.Errorf("%#v and %#v encode differently", p[0], p[1])
		}
	}
	differ := [][2]any{
		{int64(1), float64(1)},
		{"1", int64(1)},
		{[]any{"a", "b"}, []any{"ab"}},
		{map[string]any{"a": "b"}, map[string]any{"ab": ""}},
		{nil, false},
		{[]any{}, map[string]any{}},
	}
	for _, p := range differ {
		if enc(p[0]) == enc(p[1]) {
			t.Errorf("%#v and %#v encode alike", p[0], p[1])
		}
	}
	if _, ok := canonical(struct{}{}); ok {
		t.Error("a value the merge never produces was encoded")
	}
}

// TestEntryEncoding checks that an entry reads back as written, nil and
// empty parts apart, and that no truncation of it reads as an entry.
func TestEntryEncoding(t *testing.T) {
	in := &Host{valueJSON: []byte(`{"a":1}`), Facts: []byte{}, Listeners: []byte(`{}`), fragsJSON: []byte(`{"f":1}`), Home: map[string][]byte{"alice": []byte(`{}`), "bob": nil}}
	b := encodeParts(in.parts())
	parts, ok := decodeParts(b)
	if !ok {
		t.Fatal("an encoded entry does not decode")
	}
	out := &Host{Name: "kept", Derived: []byte("kept")}
	if !out.setParts(parts) {
		t.Fatal("decoded parts do not make a result")
	}
	want := &Host{Name: "kept", Derived: []byte("kept"), Facts: in.Facts, Listeners: in.Listeners, Home: in.Home}
	if diff := cmp.Diff(want, out, cmpopts.IgnoreUnexported(Host{})); diff != "" || out.NixOS() != nil || out.Facts == nil ||
		string(out.JSON()) != string(in.JSON()) || string(out.Fragments()) != string(in.Fragments()) {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// A list that is not a host's changes nothing.
	if out.setParts(parts[:8]) || string(out.JSON()) != `{"a":1}` || out.Home == nil {
		t.Error("a malformed entry was taken, or changed the host")
	}
	for i := range len(b) {
		if _, ok := decodeParts(b[:i]); ok {
			t.Errorf("the first %d of %d bytes decode as an entry", i, len(b))
		}
	}
}

// TestHostRecords checks that a host whose entries did not change is
// taken from the cache, neither merged nor unified again, and that a
// change of what every host depends on (the schema, the module's file)
// merges every host again, with the result of a load without a cache.
func TestHostRecords(t *testing.T) {
	dir := t.TempDir()
	root, _ := filepath.Abs("../..")
	load := func(cacheDir string, fsys fs.FS, overlay map[string][]byte) *Fleet {
		t.Helper()
		f, d := Load(context.Background(), &Config{Dir: "../..", Schema: fsys, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
		if f == nil {
			t.Fatal(d)
		}
		return f
	}
	all := []string{"dex5550", "p510", "p620", "razer", "samsung"}
	merged := func(f *Fleet) []string {
		m := f.Merged()
		sort.Strings(m)
		return m
	}
	cold := load("", schema.FS, nil)
	if got := merged(load(dir, schema.FS, nil)); !slices.Equal(got, all) {
		t.Fatalf("a cold load merged %v, want %v", got, all)
	}
	warm := load(dir, schema.FS, nil)
	if got := merged(warm); len(got) != 0 {
		t.Fatalf("a warm load merged %v", got)
	}
	if diff := cmp.Diff(results(cold), results(warm)); diff != "" {
		t.Fatalf("a warm load differs from one without a cache (-without +warm):\n%s", diff)
	}
	for _, h := range warm.Hosts {
		if h.Tree != nil || h.Key == nil {
			t.Errorf("%s, taken from the cache, has a tree or no key", h.Name)
		}
	}

	// Another schema: every host again.
	changed := fstest.MapFS{}
	names, err := fs.Glob(schema.FS, "*.cue")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(schema.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "host.cue" {
			b = append(b, "\n// A changed schema.\n"...)
		}
		changed[name] = &fstest.MapFile{Data: b}
	}
	want := load("", changed, nil)
	got := load(dir, changed, nil)
	if m := merged(got); !slices.Equal(m, all) {
		t.Errorf("with another schema, the load merged %v, want %v", m, all)
	}
	if diff := cmp.Diff(results(want), results(got)); diff != "" {
		t.Errorf("with another schema, the load differs from one without a cache (-without +with):\n%s", diff)
	}

	// Another language version in the module's file: every host again.
	mod := map[string][]byte{filepath.Join(root, "cue.mod", "module.cue"): []byte("module: \"fleetnix.dev/reference@v0\"\nlanguage: version: \"v0.16.0\"\n")}
	want = load("", schema.FS, mod)
	got = load(dir, schema.FS, mod)
	if m := merged(got); !slices.Equal(m, all) {
		t.Errorf("with another module file, the load merged %v, want %v", m, all)
	}
	if diff := cmp.Diff(results(want), results(got)); diff != "" {
		t.Errorf("with another module file, the load differs from one without a cache (-without +with):\n%s", diff)
	}
}

// TestIndexDamaged checks that an index reads back as written, and that
// one cut at any length, or with any byte changed, is not read at all.
func TestIndexDamaged(t *testing.T) {
	m := map[string][]byte{"gen-1": []byte("one"), "hostrec-2": nil, "entry-3": bytes.Repeat([]byte("x"), 300)}
	b := encodeIndex(m)
	got := decodeIndex(b)
	if len(got) != len(m) {
		t.Fatalf("read %d entries back, want %d", len(got), len(m))
	}
	for k, v := range m {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%s: read %q back, want %q", k, got[k], v)
		}
	}
	for n := range len(b) {
		if decodeIndex(b[:n]) != nil {
			t.Errorf("an index cut at %d of %d bytes was read", n, len(b))
		}
	}
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0x20
		if decodeIndex(d) != nil {
			t.Errorf("an index with byte %d changed was read", i)
		}
	}
}

// TestCacheLargeEntry checks that an entry too large for the index,
// streamed into its own file, is written as encodeParts lays it out
// (parts larger than the write buffer, nil and empty ones), reads back as
// written, with or without a batch open, and leaves an older index entry
// under its key unused.
func TestCacheLargeEntry(t *testing.T) {
	dir := t.TempDir()
	c, done := spillCache(t, dir)
	small := c.key("gen", []byte("small"))
	large := c.key("gen", []byte("large"))
	c.put(large, &rawEntry{[]byte("old, small")})
	parts := [][]byte{[]byte("head"), nil, {}, bytes.Repeat([]byte("0123456789abcdef"), 5000), []byte("tail")}
	c.put(large, (*rawEntry)(&parts))
	c.put(small, &rawEntry{[]byte("small")})
	if _, ok := c.index.used[large]; ok {
		t.Error("a large entry is in the index")
	}
	check := func(c *cache) {
		t.Helper()
		b, err := os.ReadFile(c.path(large))
		if err != nil || !bytes.Equal(b, encodeParts(parts)) {
			t.Fatalf("the large entry's file: %v, %d bytes, want %d", err, len(b), len(encodeParts(parts)))
		}
		var r rawEntry
		if !c.get(large, &r) || len(r) != len(parts) {
			t.Fatalf("the large entry reads back as %d parts", len(r))
		}
		for i := range parts {
			if !bytes.Equal(r[i], parts[i]) || (r[i] == nil) != (parts[i] == nil) {
				t.Errorf("part %d reads back as %.20q, want %.20q", i, r[i], parts[i])
			}
		}
	}
	check(c)
	done()
	c2, done2 := spillCache(t, dir)
	defer done2()
	check(c2)
	var r rawEntry
	if !c2.get(small, &r) || string(r[0]) != "small" {
		t.Error("the small entry was not kept")
	}
	// Out of a batch, as when the index is not in use.
	c3 := openCache(t.TempDir(), fstest.MapFS{"a.cue": {Data: []byte("package schema\n")}})
	c3.put(large, (*rawEntry)(&parts))
	check(c3)
	if got := leftovers(t, dir); len(got) > 0 {
		t.Errorf("left behind: %v", got)
	}
}

// BenchmarkCachePut puts a host's generation entry: 12 files of 20 KB.
func BenchmarkCachePut(b *testing.B) {
	c := openCache(b.TempDir(), fstest.MapFS{"a.cue": {Data: []byte("package schema\n")}})
	parts := make([][]byte, 12)
	for i := range parts {
		parts[i] = bytes.Repeat([]byte{byte('a' + i)}, 20<<10)
	}
	key := c.key("gen", []byte("host"))
	b.ReportAllocs()
	for b.Loop() {
		c.put(key, (*rawEntry)(&parts))
	}
}
