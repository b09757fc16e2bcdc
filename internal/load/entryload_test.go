package load

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cuelang.org/go/cue/parser"

	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/schema"
)

// provenances maps each host's Provenance seen by loadDump to its tree,
// dumped: hosts with the same Provenance must have the same tree.
var provenances = map[string]string{}

// dump writes everything a load gives, provenance included, as text.
func dump(f *Fleet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "settings %s\n", f.Settings)
	for _, name := range keys(f.Secrets) {
		fmt.Fprintf(&b, "secret %s %s\n", name, f.Secrets[name])
	}
	for _, name := range keys(f.Decls) {
		fmt.Fprintf(&b, "decl %s %v\n", name, f.Decls[name])
	}
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "host %s template=%s hw=%s tags=%v users=%v decl=%v doc=%q\n", h.Name, h.Template, h.HardwareProfile, h.Tags, h.Users, h.Decl, h.Doc)
		for _, fp := range h.Fixed {
			fmt.Fprintf(&b, "  fixed %v %v %v\n", fp.Path, fp.Source, fp.Range)
		}
		start := b.Len()
		tree := h.Tree
		if tree == nil {
			// Taken from the cache: merged when asked for.
			tree = f.Tree(h)
		}
		dumpTree(&b, tree, nil)
		dumped := b.String()[start:]
		if h.Provenance != nil {
			if old, ok := provenances[string(h.Provenance)]; ok && old != dumped {
				b.WriteString("  PROVENANCE REUSED FOR ANOTHER TREE\n")
			}
			provenances[string(h.Provenance)] = dumped
		}
		for _, p := range h.parts() {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	return b.String()
}

// dumpTree writes the tree n, at path, with its provenance.
func dumpTree(b *strings.Builder, n *merge.Node, path []string) {
	if d := n.Decl(); d != nil {
		fmt.Fprintf(b, "  %s decl %v %v\n", FormatPath(path), d.Source, d.Range)
	}
	if o := n.Leaf(); o != nil {
		fmt.Fprintf(b, "  %s = %s %v %v doc=%v\n", FormatPath(path), merge.Show(o.Value), o.Source, o.Range, o.Doc)
	}
	for _, o := range n.Overridden {
		fmt.Fprintf(b, "  %s overrides %s %v %v\n", FormatPath(path), merge.Show(o.Value), o.Source, o.Range)
	}
	for _, name := range n.Fields() {
		dumpTree(b, n.Field(name), append(path[:len(path):len(path)], name))
	}
}

// loadDump loads the fleet in dir with the overlay (relative names) and
// the cache in cacheDir ("" for none), and dumps it; or returns its
// errors, printed.
func loadDump(t *testing.T, dir, cacheDir string, overlay map[string]string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	ov := map[string][]byte{}
	for name, src := range overlay {
		ov[filepath.Join(abs, name)] = []byte(src)
	}
	f, d := Load(context.Background(), &Config{Dir: dir, Schema: schema.FS, NixOS: true, CacheDir: cacheDir, Overlay: ov})
	if f == nil {
		var b strings.Builder
		for _, x := range d {
			fmt.Fprintf(&b, "%v %s %s\n", x.Range, x.Summary, x.Detail)
			for _, r := range x.Related {
				fmt.Fprintf(&b, "  %v %s\n", r.Range, r.Message)
			}
		}
		return "errors:\n" + b.String()
	}
	out := dump(f)
	// Released trees merge again to the same.
	f.ReleaseTrees()
	for _, h := range f.Hosts {
		h.Tree = f.Tree(h)
	}
	if again := dump(f); again != out {
		return out + "AFTER RELEASE:\n" + again
	}
	return out
}

// TestEntriesFromCache checks that a load reading the fleet entry by
// entry, from the cache where entries did not change, gives exactly what
// evaluating the package whole gives: for the reference fleet and the
// examples, cold and warm, after a host gains a value in another file
// (evaluated with its declaration in hosts.cue), after lines are inserted
// above entries (whose cached positions must move), after a context
// (templates' hidden fields) changes, and with errors (those the checks
// across entries find included: the fleet is then read again whole).
func TestEntriesFromCache(t *testing.T) {
	hosts, err := os.ReadFile("../../hosts.cue")
	if err != nil {
		t.Fatal(err)
	}
	templates, err := os.ReadFile("../../templates.cue")
	if err != nil {
		t.Fatal(err)
	}
	batch := batchSize
	defer func() { batchSize = batch }()
	shifted := bytes.Replace(hosts, []byte("hosts: {\n"), []byte("hosts: {\n\n\n\t// Three more lines.\n"), 1)
	bindings := bytes.Replace(templates, []byte("_hyprBindings: {"), []byte("_hyprBindings: {\n\t// A comment.\n"), 1)
	for _, tc := range []struct {
		dir     string
		overlay map[string]string
		errors  bool
	}{
		{"../..", nil, false},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: tags: edited: true\n"}, false},
		{"../..", map[string]string{"hosts.cue": string(shifted)}, false},
		{"../..", map[string]string{"hosts.cue": string(shifted), "edit.cue": "package fleet\n\n// A doc.\nhosts: razer: deploy: port: 2222\n"}, false},
		{"../..", map[string]string{"templates.cue": string(bindings)}, false},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: deploy: port: \"x\"\n"}, false},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: stateVersion: \"24.11\"\n"}, false},
		// Errors main's checks find across entries: read again whole.
		{"../..", map[string]string{"edit.cue": "package fleet\n\nsecrets: \"tailscale-auth-key\": recipients: users: nobody: true\n"}, true},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: template: \"nosuch\"\n"}, true},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: nixos: environment: etc: x: text: \"a\\u0000b\"\n"}, true},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nsettings: inputs: \"bad input\": url: \"github:x/y\"\n"}, true},
		{"../../examples/homelab", nil, false},
		{"../../examples/minimal", nil, false},
	} {
		wholePackage = true
		want := loadDump(t, tc.dir, "", tc.overlay)
		wholePackage = false
		if len(tc.overlay) == 0 && strings.HasPrefix(want, "errors:") {
			t.Fatalf("%s: %s", tc.dir, want)
		}
		if tc.errors && !strings.HasPrefix(want, "errors:") {
			t.Fatalf("%s %v: no errors", tc.dir, sortedKeys(tc.overlay))
		}
		// Without a cache, every entry evaluated.
		if diff := cmp.Diff(want, loadDump(t, tc.dir, "", tc.overlay)); diff != "" {
			t.Errorf("%s %v, without a cache: differs from evaluating the package whole (-whole +entries):\n%s", tc.dir, sortedKeys(tc.overlay), diff)
		}
		// In batches of a few entries, copies made of the files' nodes.
		batchSize = 4
		if diff := cmp.Diff(want, loadDump(t, tc.dir, t.TempDir(), tc.overlay)); diff != "" {
			t.Errorf("%s %v, in batches: differs from evaluating the package whole (-whole +entries):\n%s", tc.dir, sortedKeys(tc.overlay), diff)
		}
		batchSize = batch
		dir := t.TempDir()
		for _, run := range []string{"cold", "warm"} {
			if diff := cmp.Diff(want, loadDump(t, tc.dir, dir, tc.overlay)); diff != "" {
				t.Errorf("%s %v, %s cache: differs from evaluating the package whole (-whole +entries):\n%s", tc.dir, sortedKeys(tc.overlay), run, diff)
			}
		}
		// Warm from the fleet as it was before the overlay.
		dir = t.TempDir()
		loadDump(t, tc.dir, dir, nil)
		if diff := cmp.Diff(want, loadDump(t, tc.dir, dir, tc.overlay)); diff != "" {
			t.Errorf("%s %v, after the change: differs from evaluating the package whole (-whole +entries):\n%s", tc.dir, sortedKeys(tc.overlay), diff)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestIndexLines checks the line of every entry the index of a file
// records against the newlines before it, for the reference fleet's
// files and a small one, and the line counter asked for an offset before
// the last one.
func TestIndexLines(t *testing.T) {
	names, err := filepath.Glob("../../*.cue")
	if err != nil || len(names) == 0 {
		t.Fatal("no files", err)
	}
	srcs := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		srcs[n] = b
	}
	srcs["late.cue"] = []byte("package fleet\n\nhosts: a: {}\n\n// A doc.\nhosts: b: tags: x: true\nfleet: {}\n")
	checked := 0
	for name, src := range srcs {
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		x := indexFile(f, src)
		if !x.ok {
			continue
		}
		for _, e := range x.entries {
			if want := bytes.Count(src[:e.start], []byte("\n")) + 1; e.line != want {
				t.Errorf("%s: entry %s %q: line %d, want %d", name, e.kind, e.name, e.line, want)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d entries checked", checked)
	}
	lc := lineCounter{src: []byte("a\nb\nc\nd\n"), line: 1}
	for _, o := range []int{6, 2, 2, 7, 0} {
		if got, want := lc.at(o), o/2+1; got != want {
			t.Errorf("line of offset %d: %d, want %d", o, got, want)
		}
	}
}
