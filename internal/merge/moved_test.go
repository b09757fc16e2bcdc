package merge_test

import (
	"bytes"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// TestMoved checks that moving an encoded tree gives what decoding it,
// rebasing and renaming it, and encoding it again gives, with values of
// every kind; unmoved, the same bytes; damaged, an error.
func TestMoved(t *testing.T) {
	v := layers(t, `
host: {
	port: 22
	name: "web"
	big: 123456789012345678901234567890
	ratio: 0.5
	on: true
	off: false
	nothing: null
	list: [1, "a", [true]]
	nested: deep: x: "y"
}
`)
	src := merge.Source{Layer: merge.Host, Name: "web"}
	tr, d := merge.Decode(src, field(v, "host"), merge.Hooks{})
	if len(d) > 0 {
		t.Fatal(d)
	}
	b, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	same, err := merge.Moved(b, func(r diag.Range) diag.Range { return r }, func(s merge.Source) merge.Source { return s })
	if err != nil || !bytes.Equal(same, b) {
		t.Fatalf("unmoved: %v, bytes equal %v", err, bytes.Equal(same, b))
	}
	move := func(r diag.Range) diag.Range {
		r.Start.Line += 1000
		r.Start.Offset += 100000
		r.File = "moved.cue"
		return r
	}
	to := merge.Source{Layer: merge.Host, Name: "db1"}
	rename := func(s merge.Source) merge.Source {
		if s == src {
			return to
		}
		return s
	}
	got, err := merge.Moved(b, move, rename)
	if err != nil {
		t.Fatal(err)
	}
	// The same, the slow way: decoded, changed, encoded.
	want, err := merge.UnmarshalTree(b)
	if err != nil {
		t.Fatal(err)
	}
	want.Rebase(move)
	var walk func(n *merge.Node)
	leaves := 0
	walk = func(n *merge.Node) {
		if o := n.Leaf(); o != nil {
			leaves++
			if o.Source != src {
				t.Fatalf("leaf from %v", o.Source)
			}
		}
		for _, f := range n.Fields() {
			walk(n.Field(f))
		}
	}
	walk(want.Root())
	if leaves < 9 {
		t.Fatalf("only %d leaves", leaves)
	}
	back, err := merge.UnmarshalTree(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Source() != to {
		t.Errorf("source %v, want %v", back.Source(), to)
	}
	var cmpNodes func(a, b *merge.Node, path string)
	cmpNodes = func(a, b *merge.Node, path string) {
		if (a.Leaf() == nil) != (b.Leaf() == nil) {
			t.Fatalf("%s: leaf differs", path)
		}
		if o := a.Leaf(); o != nil {
			w := *o
			w.Source = to
			if g := *b.Leaf(); g.Source != w.Source || g.Range != w.Range || merge.Show(g.Value) != merge.Show(w.Value) || g.Doc != w.Doc {
				t.Errorf("%s: %+v, want %+v", path, g, w)
			}
		}
		if len(a.Fields()) != len(b.Fields()) {
			t.Fatalf("%s: fields %v, want %v", path, b.Fields(), a.Fields())
		}
		for _, f := range a.Fields() {
			cmpNodes(a.Field(f), b.Field(f), path+"."+f)
		}
	}
	cmpNodes(want.Root(), back.Root(), "")
	if _, err := merge.Moved(b[:len(b)-3], move, rename); err == nil {
		t.Error("damaged: no error")
	}
}
