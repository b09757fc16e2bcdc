package merge

import (
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/internal/diag"
)

// encodedTree returns a tree with every kind of value, several sources
// and files, overridden values, a conflict, declarations and ranges that
// are points, spans and empty.
func encodedTree() *Tree {
	host := Source{Layer: Host, Name: "p620"}
	tmpl := Source{Layer: Template, Name: "workstation"}
	prof := Source{Layer: Profile, Name: "developer"}
	pt := func(file string, line, col, off int) diag.Range {
		at := diag.Pos{Line: line, Col: col, Offset: off}
		return diag.Range{File: file, Start: at, End: at}
	}
	span := diag.Range{File: "hosts.cue", Start: diag.Pos{Line: 900000, Col: 40, Offset: 28 << 20}, End: diag.Pos{Line: 900002, Col: 3, Offset: 28<<20 + 90}}
	back := diag.Range{File: "b.cue", Start: diag.Pos{Line: 5, Col: 9, Offset: 70}, End: diag.Pos{Line: 1, Col: 1}}
	t := &Tree{src: host}
	r := &t.root
	r.decl = &Origin{Source: host, Range: span}
	r.Set(host, pt("hosts.cue", 3, 5, 20), "x\x00é", "a", "s")
	r.Set(tmpl, pt("templates.cue", 1, 1, 0), true, "a", "t")
	r.Set(host, back, false, "a", "t")
	r.Set(host, diag.Range{}, nil, "n")
	r.Set(prof, pt("profiles.cue", 7, 2, 99), int64(-42), "i")
	r.Set(Source{Layer: Profile, Name: "other"}, span, int64(math.MaxInt64), "i")
	r.Set(host, span, new(big.Int).Lsh(big.NewInt(3), 100), "big")
	r.Set(tmpl, pt("templates.cue", 2, 2, 10), 1.5, "f")
	r.Set(host, pt("hosts.cue", 4, 4, 40), []any{"a", int64(1), []any{}, map[string]any{"$secret": "k"}}, "l")
	r.Set(host, pt("hosts.cue", 4, 4, 40), map[string]any{"z": nil, "a": false}, "m")
	r.Lookup("a").decl = &Origin{Source: tmpl, Range: pt("templates.cue", 1, 1, 0), Doc: true}
	r.Lookup("a", "s").leaf.Doc = true
	return t
}

// TestTreeEncoding checks that a tree reads back as it was encoded, its
// provenance included, that no truncation of it reads as a tree, and
// that EncodeValue's values read back alike.
func TestTreeEncoding(t *testing.T) {
	in := encodedTree()
	if in.root.Lookup("i").conflict == nil || len(in.root.Lookup("a", "t").Overridden) != 1 {
		t.Fatal("the tree lacks a conflict or an override")
	}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if cap(b) != len(b) {
		t.Errorf("the encoding holds %d bytes for %d", cap(b), len(b))
	}
	out, err := UnmarshalTree(b)
	if err != nil {
		t.Fatal(err)
	}
	opts := cmp.Options{cmp.AllowUnexported(Tree{}, Node{}), cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })}
	if diff := cmp.Diff(in, out, opts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Encoded twice, alike: the pooled writer keeps nothing between.
	if b2, _ := in.MarshalBinary(); string(b2) != string(b) {
		t.Error("a second encoding differs")
	}
	for i := range len(b) {
		if _, err := UnmarshalTree(b[:i]); err == nil {
			t.Errorf("the first %d of %d bytes decode as a tree", i, len(b))
		}
	}
	for _, v := range []any{nil, "s", int64(-1), 2.5, []any{true}, map[string]any{"b": "c"}} {
		e, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeValue(e); err != nil || !cmp.Equal(got, v) {
			t.Errorf("%#v reads back as %#v, %v", v, got, err)
		}
	}
}

// BenchmarkTreeEncoding encodes and decodes a tree of 200 leaves.
func BenchmarkTreeEncoding(b *testing.B) {
	t := &Tree{src: Source{Layer: Host, Name: "p620-0005"}}
	for i := range 200 {
		at := diag.Pos{Line: 400000 + i, Col: 7, Offset: 20<<20 + 40*i}
		t.root.Set(t.src, diag.Range{File: "hosts.cue", Start: at, End: at}, "value", "nixos", "services", string(rune('a'+i%26)), string(rune('a'+i/26)))
	}
	b.ReportAllocs()
	for b.Loop() {
		enc, _ := t.MarshalBinary()
		if _, err := UnmarshalTree(enc); err != nil {
			b.Fatal(err)
		}
	}
	enc, _ := t.MarshalBinary()
	b.ReportMetric(float64(len(enc)), "bytes/tree")
}

// TestNodeFields checks that a struct finds its fields by name, in the
// order they were set, small (looked through) or large (a map), after
// fields are dropped and once read back.
func TestNodeFields(t *testing.T) {
	for _, k := range []int{3, 8, 9, 40} {
		tr := &Tree{src: Source{Layer: Host, Name: "h"}}
		var names []string
		for i := range k {
			name := string(rune('z'-i%26)) + strconv.Itoa(i)
			names = append(names, name)
			tr.root.Set(tr.src, diag.Range{}, int64(i), name)
		}
		tr.root.Set(tr.src, diag.Range{}, int64(-1), names[0]) // set again: no new field
		check := func(what string, tr *Tree, names []string) {
			t.Helper()
			if !slices.Equal(tr.root.Fields(), names) {
				t.Errorf("%d fields, %s: Fields() = %v, want %v", k, what, tr.root.Fields(), names)
			}
			for _, name := range names {
				want, _ := strconv.Atoi(strings.TrimLeft(name, "abcdefghijklmnopqrstuvwxyz"))
				if c := tr.root.Field(name); c == nil || c.Leaf().Value != int64(want) {
					t.Errorf("%d fields, %s: Field(%s) = %v", k, what, name, c)
				}
			}
			if tr.root.Field("none") != nil || tr.root.Lookup("none") != nil {
				t.Errorf("%d fields, %s: a field that does not exist is found", k, what)
			}
		}
		check("set", tr, names)
		tr.Drop(names[0], names[k/2], "none")
		names = slices.Delete(slices.Delete(names, k/2, k/2+1), 0, 1)
		check("dropped", tr, names)
		if tr.root.Field(string(rune('z'))+"0") != nil {
			t.Errorf("%d fields: a dropped field is found", k)
		}
		b, _ := tr.MarshalBinary()
		back, err := UnmarshalTree(b)
		if err != nil {
			t.Fatal(err)
		}
		check("read back", back, names)
		// A field set after the drop goes last.
		tr.root.Set(tr.src, diag.Range{}, int64(99), "new99")
		check("added", tr, append(names, "new99"))
	}
}

// layerTree returns a tree of src with 250 leaves in structs of 5
// fields, three deep below a chain of two single fields, as a host's
// layers have them.
func layerTree(src Source) *Tree {
	t := &Tree{src: src}
	at := diag.Pos{Line: 10, Col: 3, Offset: 200}
	for i := range 250 {
		at.Line, at.Offset = at.Line+1, at.Offset+30
		t.root.Set(src, diag.Range{File: "f.cue", Start: at, End: at}, int64(i), "nixos", "services",
			"s"+strconv.Itoa(i/25), "o"+strconv.Itoa(i/5%5), "k"+strconv.Itoa(i%5))
	}
	return t
}

// BenchmarkMerge merges a template's, a profile's and a host's trees
// and converts the result to data, as each host's merge does.
func BenchmarkMerge(b *testing.B) {
	layers := []*Tree{layerTree(Source{Layer: Template, Name: "t"}), layerTree(Source{Layer: Profile, Name: "p"}), layerTree(Source{Layer: Host, Name: "h"})}
	b.ReportAllocs()
	for b.Loop() {
		var m Merger
		for _, l := range layers {
			m.AddTree(l)
		}
		m.Finish()
		m.Root.Data()
	}
}

// TestEqual checks that two sources' values are told alike exactly when
// they show alike, whether or not they are formatted to be compared.
func TestEqual(t *testing.T) {
	vals := []any{"a", "b", `"a"`, "", true, false, "true", int64(1), int64(2), 1.0, 1.5, "1", nil, "null",
		new(big.Int).SetInt64(1), []any{"a"}, []any{}, map[string]any{"a": "b"}, map[string]any{}}
	for _, a := range vals {
		for _, b := range vals {
			if got, want := equal(a, b), Show(a) == Show(b); got != want {
				t.Errorf("equal(%#v, %#v) = %v, want %v", a, b, got, want)
			}
		}
	}
}
