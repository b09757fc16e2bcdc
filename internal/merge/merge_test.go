package merge_test

import (
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/internal/merge"
)

// layers compiles one CUE file holding every layer as a field, so
// positions are real.
func layers(t *testing.T, src string) cue.Value {
	t.Helper()
	v := cuecontext.New().CompileString(src, cue.Filename("layers.cue"))
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

func field(v cue.Value, path string) cue.Value { return v.LookupPath(cue.ParsePath(path)) }

func TestOverrideIsRecorded(t *testing.T) {
	v := layers(t, `
tmpl: {ssh: port: 22, system: "x86_64-linux"}
host: {ssh: port: 2222}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Template, Name: "server"}, field(v, "tmpl"))
	m.Add(merge.Source{Layer: merge.Host, Name: "web"}, field(v, "host"))
	if d := m.Finish(); len(d) != 0 {
		t.Fatalf("unexpected problems: %v", d)
	}
	n := m.Root.Lookup("ssh", "port")
	if n == nil || !n.IsLeaf() {
		t.Fatal("ssh.port missing")
	}
	if got := n.Leaf(); got.Value != int64(2222) || got.Source.Layer != merge.Host || got.Range.Start.Line != 3 {
		t.Errorf("winner = %+v, want 2222 from the host at line 3", got)
	}
	if len(n.Overridden) != 1 || n.Overridden[0].Value != int64(22) || n.Overridden[0].Range.Start.Line != 2 || n.Overridden[0].Source.Name != "server" {
		t.Errorf("overridden = %+v, want 22 from template server at line 2", n.Overridden)
	}
	want := map[string]any{"ssh": map[string]any{"port": int64(2222)}, "system": "x86_64-linux"}
	if diff := cmp.Diff(want, m.Root.Data()); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestSameLayerConflict(t *testing.T) {
	v := layers(t, `
developer: {browsers: {edge: true, firefox: true}}
desktop: {browsers: {edge: false, firefox: true}}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Profile, Name: "developer"}, field(v, "developer"), "home")
	m.Add(merge.Source{Layer: merge.Profile, Name: "desktop-user"}, field(v, "desktop"), "home")
	d := m.Finish()
	if len(d) != 1 {
		t.Fatalf("got %d problems, want 1: %v", len(d), d)
	}
	got := d[0]
	if !strings.Contains(got.Summary, `home.browsers.edge: profile "developer" and profile "desktop-user" disagree: true vs false`) {
		t.Errorf("summary = %q", got.Summary)
	}
	if got.Range.File != "layers.cue" || got.Range.Start.Line != 3 {
		t.Errorf("at %v, want layers.cue:3", got.Range)
	}
	if len(got.Related) != 2 || got.Related[0].Range.Start.Line != 2 || got.Related[1].Range.Start.Line != 3 {
		t.Errorf("related = %+v, want both sides (lines 2 and 3)", got.Related)
	}
}

// A profile that sets a struct where another of the same layer sets a
// leaf disagrees with it too; the struct side is at its declaration.
func TestSameLayerStructLeafConflict(t *testing.T) {
	v := layers(t, `
developer: {editor: "vim"}
desktop: {
	editor: {name: "code"}
}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Profile, Name: "developer"}, field(v, "developer"), "home")
	m.Add(merge.Source{Layer: merge.Profile, Name: "desktop-user"}, field(v, "desktop"), "home")
	d := m.Finish()
	if len(d) != 1 {
		t.Fatalf("got %d problems, want 1: %v", len(d), d)
	}
	got := d[0]
	if !strings.Contains(got.Summary, `home.editor: profile "developer" and profile "desktop-user" disagree`) {
		t.Errorf("summary = %q", got.Summary)
	}
	if got.Range.File != "layers.cue" || got.Range.Start.Line != 4 {
		t.Errorf("at %v, want the struct at layers.cue:4", got.Range)
	}
	if len(got.Related) != 2 || got.Related[0].Range.Start.Line != 2 || got.Related[1].Range.Start.Line != 4 {
		t.Errorf("related = %+v, want both sides (lines 2 and 4)", got.Related)
	}
}

func TestHigherLayerResolvesConflict(t *testing.T) {
	v := layers(t, `
a: {edge: true}
b: {edge: false}
host: {home: edge: false}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Profile, Name: "a"}, field(v, "a"), "home")
	m.Add(merge.Source{Layer: merge.Profile, Name: "b"}, field(v, "b"), "home")
	m.Add(merge.Source{Layer: merge.Host, Name: "h"}, field(v, "host"))
	if d := m.Finish(); len(d) != 0 {
		t.Fatalf("conflict not resolved by the host: %v", d)
	}
	n := m.Root.Lookup("home", "edge")
	if len(n.Overridden) != 2 {
		t.Errorf("overridden = %+v, want both profile values", n.Overridden)
	}
}

func TestEqualValuesDoNotConflict(t *testing.T) {
	v := layers(t, `
a: {tmux: true, list: [1, 2]}
b: {tmux: true, list: [1, 2]}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Profile, Name: "a"}, field(v, "a"))
	m.Add(merge.Source{Layer: merge.Profile, Name: "b"}, field(v, "b"))
	if d := m.Finish(); len(d) != 0 {
		t.Fatalf("equal values reported: %v", d)
	}
}

func TestListsAndMarkersAreAtomic(t *testing.T) {
	v := layers(t, `
tmpl: {dns: ["1.1.1.1", "8.8.8.8"], key: {$secret: "old"}, opts: {a: 1, b: 2}}
host: {dns: ["9.9.9.9"], key: {$secret: "new"}, opts: {b: 3}}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Template, Name: "t"}, field(v, "tmpl"))
	m.Add(merge.Source{Layer: merge.Host, Name: "h"}, field(v, "host"))
	if d := m.Finish(); len(d) != 0 {
		t.Fatal(d)
	}
	want := map[string]any{
		"dns":  []any{"9.9.9.9"},
		"key":  map[string]any{"$secret": "new"},
		"opts": map[string]any{"a": int64(1), "b": int64(3)},
	}
	if diff := cmp.Diff(want, m.Root.Data()); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestNonConcreteLayerValue(t *testing.T) {
	v := layers(t, `
tmpl: {port: int & >1000, workers: *4 | int}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Template, Name: "t"}, field(v, "tmpl"))
	d := m.Finish()
	if len(d) != 1 || !strings.Contains(d[0].Summary, "tmpl.port: value is not concrete") || d[0].Range.Start.Line != 2 {
		t.Fatalf("got %v, want one error for tmpl.port at line 2", d)
	}
	if n := m.Root.Lookup("workers"); n == nil || n.Leaf().Value != int64(4) {
		t.Errorf("a layer's own default should be taken as its value, got %+v", n)
	}
}

func TestLowerLayerAfterHigher(t *testing.T) {
	v := layers(t, `
host: {x: 2}
tmpl: {x: 1}
`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Host, Name: "h"}, field(v, "host"))
	m.Add(merge.Source{Layer: merge.Template, Name: "t"}, field(v, "tmpl"))
	n := m.Root.Lookup("x")
	if n.Leaf().Value != int64(2) || len(n.Overridden) != 1 || n.Overridden[0].Value != int64(1) {
		t.Errorf("order of Add must not matter: got %+v overridden %+v", n.Leaf(), n.Overridden)
	}
}

func TestDrop(t *testing.T) {
	v := layers(t, `tmpl: {description: "servers", fixed: {"a": true}, a: 1, b: 2}`)
	tr, d := merge.Decode(merge.Source{Layer: merge.Template, Name: "t"}, field(v, "tmpl"), merge.Hooks{})
	if len(d) != 0 {
		t.Fatal(d)
	}
	tr.Drop("description", "fixed", "absent")
	var m merge.Merger
	m.AddTree(tr)
	if diff := cmp.Diff(map[string]any{"a": int64(1), "b": int64(2)}, m.Root.Data()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := strings.Join(m.Root.Fields(), " "); got != "a b" {
		t.Errorf("fields = %q, want %q", got, "a b")
	}
}

// TestWalk checks that Walk visits the leaves Leaves does, with the same
// paths, in the order the fields were set.
func TestWalk(t *testing.T) {
	v := layers(t, `host: {z: 1, a: {y: true, b: "x"}, m: [1]}`)
	var m merge.Merger
	m.Add(merge.Source{Layer: merge.Host, Name: "h"}, field(v, "host"))
	var walked, leaves []string
	m.Root.Walk(nil, func(p []string, _ *merge.Node) { walked = append(walked, strings.Join(p, ".")) })
	m.Root.Leaves(nil, func(p []string, _ *merge.Node) { leaves = append(leaves, strings.Join(p, ".")) })
	if diff := cmp.Diff([]string{"z", "a.y", "a.b", "m"}, walked); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a.b", "a.y", "m", "z"}, leaves); diff != "" {
		t.Errorf("Leaves (-want +got):\n%s", diff)
	}
}
