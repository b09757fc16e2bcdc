package merge

import (
	"math"
	"math/big"
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
