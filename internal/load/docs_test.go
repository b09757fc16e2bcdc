package load

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"github.com/google/go-cmp/cmp"
)

// loadFiles builds a package of the given files and returns its value and
// syntax.
func loadFiles(t *testing.T, files map[string]string) (cue.Value, []*ast.File) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cue.mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	files["cue.mod/module.cue"] = "module: \"example.test/d@v0\"\nlanguage: version: \"v0.17.0\"\n"
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	insts := load.Instances([]string{"."}, &load.Config{Dir: dir})
	if insts[0].Err != nil {
		t.Fatal(insts[0].Err)
	}
	v := cuecontext.New().BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	return v, insts[0].Files
}

// eachField calls fn for every regular field below v.
func eachField(v cue.Value, fn func(cue.Value)) {
	it, err := v.Fields()
	if err != nil {
		return
	}
	for it.Next() {
		fn(it.Value())
		eachField(it.Value(), fn)
	}
}

// TestDocIndexAgreesWithCUE checks the index against cue.Value.Doc for
// every field of a package written in every way the index must follow
// (nested structs, shorthand chains, declarations split over files) or
// must give up on (a comprehension, an embedded or referenced struct).
func TestDocIndexAgreesWithCUE(t *testing.T) {
	v, files := loadFiles(t, map[string]string{
		"a.cue": `package p

// The hosts.
hosts: {
	// one is the first.
	one: {
		// a is documented.
		a: 1
		// the chain's comment belongs to d.
		b: c: d: 2
		plain: true
	}
}

// two is declared on one line.
hosts: two: x: 1
hosts: two: "quoted label": {y: 1, _hidden: 2}

_base: {
	// y comes from _base.
	y: 1
}

hosts: three: _base & {z: 1}

hosts: four: {
	for i in [1] {
		// w is made by a comprehension.
		w: i
	}
}

for n in ["six"] {
	// others are made by a comprehension.
	others: (n): 1
}

hosts: five: {
	// #d is a definition.
	#d: 1
	opt?: 2
	// q has two comments, one here
	q: 1
}
`,
		"b.cue": `package p

// one is also declared here.
hosts: one: e: 1

hosts: five: {
	// and one here.
	q: 1
}
`,
	})
	x := newDocIndex(files)
	known, named := map[string]bool{}, map[string]bool{}
	eachField(v, func(f cue.Value) {
		got := x.lines(f)
		want := docLines(f)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: doc lines (-cue +index):\n%s", f.Path(), diff)
		}
		if s := x.syntax(f); s != nil {
			if doc, ok := s.Documented(); ok && doc != (len(want) > 0) {
				t.Errorf("%s: documented = %v, want %v", f.Path(), doc, len(want) > 0)
			}
		}
		if f.IncompleteKind() == cue.StructKind {
			if got, want := x.declPos(f), userPos(f); got != want {
				t.Errorf("%s: declared at %v, want %v", f.Path(), got, want)
			}
			named[f.Path().String()] = checkNames(t, x, f)
		}
		_, ok := x.lookup(f)
		known[f.Path().String()] = ok
	})
	// The index answers from the syntax where it sees every declaration,
	// and leaves the rest to CUE.
	for path, want := range map[string]bool{
		"hosts.one":       true,
		"hosts.one.a":     true,
		"hosts.one.b.c.d": true,
		"hosts.one.e":     true,
		"hosts.two.x":     true,
		"hosts.five.q":    true,
		"hosts.three":     false,
		"hosts.three.y":   false,
		"hosts.four.w":    false,
		"others.six":      false,
	} {
		if known[path] != want {
			t.Errorf("%s: answered from the syntax = %v, want %v", path, known[path], want)
		}
	}
	// Field names come from the syntax only where every field is regular.
	for path, want := range map[string]bool{
		"hosts.one":                  true,
		"hosts.two":                  true,
		"hosts.two.\"quoted label\"": false,
		"hosts.five":                 false,
		"hosts.three":                false,
	} {
		if named[path] != want {
			t.Errorf("%s: names from the syntax = %v, want %v", path, named[path], want)
		}
	}
}

// checkNames checks the field names the index gives for the struct f, if
// any, against cue.Value.Fields, and reports whether it gave them.
func checkNames(t *testing.T, x *docIndex, f cue.Value) bool {
	t.Helper()
	s := x.syntax(f)
	if s == nil {
		return false
	}
	names, ok := s.Names()
	if !ok {
		return false
	}
	var want []string
	it, _ := f.Fields()
	for it.Next() {
		want = append(want, it.Selector().Unquoted())
	}
	got := append([]string(nil), names...)
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: field names (-cue +index):\n%s", f.Path(), diff)
	}
	return true
}

// TestDocIndexReference checks the index against CUE on every field of
// the reference fleet and the examples: doc comments as cue.Value.Doc
// gives them, declarations where userPos finds them, and field names as
// cue.Value.Fields lists them; and that it answers for every field of
// every host, which is what a large fleet has many of.
func TestDocIndexReference(t *testing.T) {
	for _, dir := range []string{"../..", "../../examples/minimal", "../../examples/homelab"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			insts := load.Instances([]string{"."}, &load.Config{Dir: dir})
			if insts[0].Err != nil {
				t.Fatal(insts[0].Err)
			}
			v := cuecontext.New().BuildInstance(insts[0])
			x := newDocIndex(insts[0].Files)
			n, documented, named := 0, 0, 0
			for _, top := range []string{"hosts", "templates", "profiles", "users", "hardware", "secrets"} {
				eachField(v.LookupPath(cue.ParsePath(top)), func(f cue.Value) {
					n++
					if _, ok := x.lookup(f); !ok && top == "hosts" {
						t.Errorf("%s: not answered from the syntax", f.Path())
					}
					got, want := x.lines(f), docLines(f)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s: doc lines (-cue +index):\n%s", f.Path(), diff)
					}
					if len(got) > 0 {
						documented++
					}
					if f.IncompleteKind() != cue.StructKind {
						return
					}
					if got, want := x.declPos(f), userPos(f); got != want {
						t.Errorf("%s: declared at %v, want %v", f.Path(), got, want)
					}
					if checkNames(t, x, f) {
						named++
					} else if top == "hosts" {
						t.Errorf("%s: field names not answered from the syntax", f.Path())
					}
				})
			}
			if n < 20 || named < 10 {
				t.Errorf("walked %d fields, %d structs named from the syntax: the fleet has more", n, named)
			}
			t.Logf("%d fields, %d documented, %d structs named from the syntax", n, documented, named)
		})
	}
}
