// Package merge builds a host's value from its layers, field by field, and
// keeps the provenance of every leaf.
//
// The layers are applied lowest first. A value from a higher layer
// overrides a value from a lower one; the override is recorded, never an
// error. Two sources of the same layer (two profiles composed for one user)
// that set the same leaf to different values are a conflict, reported with
// both positions, unless a higher layer later sets that leaf.
//
// Structs merge field by field. Lists and marker structs (single-field
// structs whose label starts with "$", such as {$secret: "x"}) are atomic:
// a higher layer replaces them whole.
package merge

import (
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
)

// A Layer is one step of the merge order. Higher layers win.
type Layer int

// The layers, lowest first.
const (
	Schema   Layer = iota // defaults of the schema, applied at unification
	Hardware              // a hardware profile
	Template              // a host template
	User                  // a fleet-level user account
	Profile               // a home-manager profile composed for a user
	Host                  // the host itself
)

var layerNames = [...]string{"schema default", "hardware profile", "template", "user", "profile", "host"}

// String names the layer as people say it: "template", "profile".
func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return fmt.Sprintf("layer(%d)", int(l))
}

// A Source is one contributor within a layer: the template "workstation",
// the profile "developer".
type Source struct {
	Layer Layer
	Name  string
}

// String formats s as `template "workstation"`, or just the layer name
// when s has none.
func (s Source) String() string {
	if s.Name == "" {
		return s.Layer.String()
	}
	return fmt.Sprintf("%s %q", s.Layer, s.Name)
}

// An Origin is one value a source gave a leaf, and where it was written.
type Origin struct {
	Source Source
	Range  diag.Range
	// Value is the value as Go data: string, bool, int64, *big.Int, float64,
	// nil, []any or map[string]any (marker structs).
	Value any
	// Doc reports, for a leaf read by Decode, whether a doc comment
	// explains it: on its field, on a field around it within the layer,
	// or heading a block of fields (a struct below the layer's root one of
	// whose fields has a doc comment).
	Doc bool
}

// A Node is a merged value: a struct of named fields, or a leaf.
// The zero Node is an empty struct. A Node is not safe for concurrent use
// while it is being merged into; a finished tree may be read from several
// goroutines.
type Node struct {
	fields map[string]*Node
	order  []string

	// leaf is set for leaves: the winning value.
	leaf *Origin
	// Overridden lists the values lower layers gave this leaf, lowest
	// first, that leaf overrode.
	Overridden []Origin
	// conflict is the other side of a same-layer disagreement not yet
	// resolved by a higher layer.
	conflict *Origin

	// decl is where a struct was first written, for errors about the
	// struct as a whole (a missing required field). A tree keeps no CUE
	// value, so the package it was decoded from can be freed once the
	// hosts are merged.
	decl *Origin
}

// IsLeaf reports whether n holds a value rather than fields.
func (n *Node) IsLeaf() bool { return n.leaf != nil }

// Leaf returns the winning value of a leaf, or nil for a struct.
func (n *Node) Leaf() *Origin { return n.leaf }

// Decl returns where the struct n was first written, or nil.
func (n *Node) Decl() *Origin { return n.decl }

// Fields returns the names of n's fields in the order they were first set.
func (n *Node) Fields() []string { return n.order }

// Field returns the field called name, or nil.
func (n *Node) Field(name string) *Node { return n.fields[name] }

// Lookup follows path from n and returns the node there, or nil.
func (n *Node) Lookup(path ...string) *Node {
	for _, p := range path {
		if n == nil || n.leaf != nil {
			return nil
		}
		n = n.fields[p]
	}
	return n
}

// Nearest returns the deepest node along path that exists, and how many
// elements of path it consumed.
func (n *Node) Nearest(path []string) (*Node, int) {
	i := 0
	for ; i < len(path); i++ {
		if n.leaf != nil {
			break
		}
		c := n.fields[path[i]]
		if c == nil {
			break
		}
		n = c
	}
	return n, i
}

func (n *Node) child(name string) *Node {
	if n.fields == nil {
		n.fields = map[string]*Node{}
	}
	c := n.fields[name]
	if c == nil {
		c = &Node{}
		n.fields[name] = c
		n.order = append(n.order, name)
	}
	return c
}

// reserve gives n, a struct with no fields yet, the k fields name(0) to
// name(k-1) (a name given twice once), in that order, allocated together:
// a decoded or merged struct's fields are known before they are filled.
func (n *Node) reserve(k int, name func(int) string) {
	if n.fields != nil || k == 0 {
		return
	}
	kids := make([]Node, k)
	n.fields = make(map[string]*Node, k)
	n.order = make([]string, 0, k)
	for i := range k {
		s := name(i)
		if _, ok := n.fields[s]; !ok {
			n.fields[s] = &kids[i]
			n.order = append(n.order, s)
		}
	}
}

// Set sets a single leaf at path as source src would, as if written at r.
// The loader uses it for values it derives, such as a host's name.
func (n *Node) Set(src Source, r diag.Range, value any, path ...string) {
	for _, p := range path {
		n = n.child(p)
	}
	n.put(&Origin{Source: src, Range: r, Value: value})
}

// A Tree is the value of one source, decoded once into Go data with the
// position of every leaf, so a template or profile shared by many hosts
// is read from CUE only once. A Layer is read-only after Decode and may be
// merged into any number of trees.
type Tree struct {
	src  Source
	root Node
}

// Drop removes the top-level fields named in names: a layer's own fields
// that are not part of what it merges into (a template's description).
// Call it before the tree is shared.
func (l *Tree) Drop(names ...string) {
	for _, n := range names {
		if _, ok := l.root.fields[n]; !ok {
			continue
		}
		delete(l.root.fields, n)
		for i, o := range l.root.order {
			if o == n {
				l.root.order = append(l.root.order[:i:i], l.root.order[i+1:]...)
				break
			}
		}
	}
}

// Hooks tell Decode what it cannot read off a value cheaply. A nil hook
// falls back to the cue.Value method.
type Hooks struct {
	// Pos returns where a value is written; the loader's prefers the
	// user's files over the schema's pattern constraints.
	Pos func(cue.Value) token.Pos
	// Documented reports whether the user's files give the field v a doc
	// comment. Without it, Decode asks cue.Value.Doc and ignores comments
	// under cue.mod; that walks every declaration of every field around v,
	// which is quadratic for hosts declared one `hosts: name: {...}` each.
	Documented func(cue.Value) bool
	// Syntax returns what the user's files declare at the layer's root
	// value, or nil. Where it answers, Decode asks neither CUE nor the
	// hooks above.
	Syntax func(cue.Value) Syntax
}

// A Syntax is what the user's files declare at a value, read from their
// syntax. A method that answers false leaves the question to CUE.
type Syntax interface {
	// Field returns the syntax of the value's field name, or nil.
	Field(name string) Syntax
	// Documented reports whether a declaration of the value has a doc
	// comment.
	Documented() (documented, ok bool)
	// Names returns the value's regular fields. cue.Value.Fields sorts
	// them on every call, which is most of the cost of decoding.
	Names() ([]string, bool)
	// Decl returns where the value is declared.
	Decl() (token.Pos, bool)
	// Pos returns where v, the leaf's value, is written, as Hooks.Pos
	// finds it.
	Pos(v cue.Value) (token.Pos, bool)
}

// Decode reads the CUE struct v, as given by src, into a Tree. Values
// that are not concrete are reported as errors: layers hold data;
// constraints and defaults belong to the schema.
func Decode(src Source, v cue.Value, h Hooks) (*Tree, diag.List) {
	d := decoder{src: src, posOf: h.Pos, documentedOf: h.Documented}
	root := &field{v: v}
	if h.Syntax != nil {
		root.syn = h.Syntax(v)
	}
	l := &Tree{src: src}
	d.declare(&l.root, root)
	d.structure(&l.root, root, false, true)
	return l, d.diags
}

type decoder struct {
	src          Source
	posOf        func(cue.Value) token.Pos
	documentedOf func(cue.Value) bool
	diags        diag.List
}

// declare records where the struct f of node n is declared.
func (d *decoder) declare(n *Node, f *field) {
	r, ok := f.syntax().Decl()
	if !ok {
		n.decl = &Origin{Source: d.src, Range: d.pos(f.v)}
		return
	}
	n.decl = &Origin{Source: d.src, Range: Range(r)}
}

// leafPos returns where the leaf f is written: from the syntax when it
// tells, else from the Pos hook, whose answer for a value whose own
// position is the schema's asks CUE for its conjuncts.
func (d *decoder) leafPos(f *field) diag.Range {
	if p, ok := f.syntax().Pos(f.v); ok {
		return Range(p)
	}
	return d.pos(f.v)
}

func (d *decoder) pos(v cue.Value) diag.Range {
	if d.posOf != nil {
		return Range(d.posOf(v))
	}
	return Range(v.Pos())
}

// A field is a field of a struct being decoded. Its own fields are read
// from CUE once, when first needed: cue.Value.Fields sorts them, which is
// most of the cost of decoding.
type field struct {
	name string
	v    cue.Value
	doc  bool
	// syn is what the user's files declare at v, or nil.
	syn Syntax

	read   bool
	fields []*field
	err    error
}

// syntax returns f's syntax, or one that answers nothing.
func (f *field) syntax() Syntax {
	if f.syn == nil {
		return noSyntax{}
	}
	return f.syn
}

// noSyntax answers nothing.
type noSyntax struct{}

func (noSyntax) Field(string) Syntax             { return nil }
func (noSyntax) Documented() (bool, bool)        { return false, false }
func (noSyntax) Names() ([]string, bool)         { return nil, false }
func (noSyntax) Decl() (token.Pos, bool)         { return token.NoPos, false }
func (noSyntax) Pos(cue.Value) (token.Pos, bool) { return token.NoPos, false }

// child returns f's field name with value v.
func (d *decoder) child(f *field, name string, v cue.Value) field {
	c := field{name: name, v: v, syn: f.syntax().Field(name)}
	if doc, ok := c.syntax().Documented(); ok {
		c.doc = doc
	} else {
		c.doc = d.documented(v)
	}
	return c
}

// fieldsOf returns the regular fields of f's value.
func (d *decoder) fieldsOf(f *field) ([]*field, error) {
	if f.read {
		return f.fields, f.err
	}
	f.read = true
	if names, ok := f.syntax().Names(); ok {
		if fs, ok := d.lookupFields(f, names); ok {
			f.fields = fs
			return fs, nil
		}
	}
	it, err := f.v.Fields()
	if err != nil {
		f.err = err
		return nil, err
	}
	for it.Next() {
		c := d.child(f, it.Selector().Unquoted(), it.Value())
		f.fields = append(f.fields, &c)
	}
	return f.fields, nil
}

// lookupFields returns the fields names of f, and false when one does
// not exist as a regular field.
func (d *decoder) lookupFields(f *field, names []string) ([]*field, bool) {
	fs := make([]*field, len(names))
	slab := make([]field, len(names))
	for i, name := range names {
		c := f.v.LookupPath(cue.MakePath(cue.Str(name)))
		if !c.Exists() {
			return nil, false
		}
		slab[i] = d.child(f, name, c)
		fs[i] = &slab[i]
	}
	return fs, true
}

// isStruct reports whether f is a struct to decode field by field: a
// struct that is not a marker, whose one regular field's label starts
// with "$" ({$secret: "x"}, {$nix: "..."}, {$force: v}). Markers are
// atomic in the merge.
func (d *decoder) isStruct(f *field) bool {
	if f.v.IncompleteKind() != cue.StructKind {
		return false
	}
	fs, err := d.fieldsOf(f)
	return err != nil || len(fs) != 1 || !strings.HasPrefix(fs[0].name, "$")
}

// structure decodes the fields of f into n. doc says whether a doc
// comment around f explains its fields; top, whether f is the layer's
// root, whose comments explain nothing in particular.
func (d *decoder) structure(n *Node, f *field, doc, top bool) {
	fields, err := d.fieldsOf(f)
	if err != nil {
		d.diags.Add(diag.Diagnostic{Severity: diag.Error, Range: d.pos(f.v), Summary: err.Error()})
		return
	}
	block := false
	for _, c := range fields {
		block = block || c.doc || d.chainDoc(c)
	}
	doc = doc || (block && !top)
	n.reserve(len(fields), func(i int) string { return fields[i].name })
	for _, f := range fields {
		c := n.child(f.name)
		if d.isStruct(f) {
			d.declare(c, f)
			d.structure(c, f, doc || f.doc, false)
			continue
		}
		if val, ok := d.value(f.v); ok {
			// d.pos, not f.v.Pos(): the Pos of a value right under a
			// pattern constraint (nixos: [string]: _) is the schema's.
			c.leaf = &Origin{Source: d.src, Range: d.leafPos(f), Value: val, Doc: doc || f.doc}
		}
	}
}

// documented reports whether v has a doc comment of the fleet's own, not
// one of the schema's (under cue.mod) on the same field.
func (d *decoder) documented(v cue.Value) bool {
	if d.documentedOf != nil {
		return d.documentedOf(v)
	}
	for _, c := range v.Doc() {
		if !strings.Contains(filepath.ToSlash(c.Pos().Filename()), "cue.mod/") {
			return true
		}
	}
	return false
}

// chainDoc reports whether the comment heading a shorthand chain of
// single fields (`a: b: c: x`), which CUE attaches to its innermost field,
// documents f.
func (d *decoder) chainDoc(f *field) bool {
	for d.isStruct(f) {
		fs, err := d.fieldsOf(f)
		if err != nil || len(fs) != 1 {
			return false
		}
		if fs[0].doc {
			return true
		}
		f = fs[0]
	}
	return false
}

// value converts a concrete leaf to Go data.
func (d *decoder) value(v cue.Value) (any, bool) {
	if dv, ok := v.Default(); ok {
		v = dv
	}
	if !v.IsConcrete() {
		d.diags.Add(diag.Diagnostic{
			Severity: diag.Error,
			Range:    d.pos(v),
			Summary:  fmt.Sprintf("%s: value is not concrete (%v): layers hold data; constraints and defaults belong to the schema", pathString(v), v),
		})
		return nil, false
	}
	x, err := Data(v)
	if err != nil {
		d.diags.Add(diag.Diagnostic{Severity: diag.Error, Range: d.pos(v), Summary: err.Error()})
		return nil, false
	}
	return x, true
}

// A Merger merges layers into one tree. The zero Merger is ready to use;
// use one Merger per host.
type Merger struct {
	Root Node
	// Hooks are passed to Decode by Add.
	Hooks Hooks
	diags diag.List
}

// Add decodes the CUE struct v, as given by src, and merges it into the
// tree at path.
func (m *Merger) Add(src Source, v cue.Value, path ...string) {
	l, d := Decode(src, v, m.Hooks)
	m.diags = append(m.diags, d...)
	m.AddTree(l, path...)
}

// AddTree merges the decoded tree l into the merged tree at path.
func (m *Merger) AddTree(l *Tree, path ...string) {
	n := &m.Root
	for _, p := range path {
		n = n.child(p)
	}
	merge(n, &l.root, l.src)
}

// merge merges the struct from (of one source) into the struct n.
func merge(n, from *Node, src Source) {
	if n.decl == nil {
		n.decl = from.decl
	}
	n.reserve(len(from.order), func(i int) string { return from.order[i] })
	// The leaves' origins are copied into one slab: n's own, which a
	// later layer may override.
	var slab []Origin
	for _, name := range from.order {
		f := from.fields[name]
		c := n.child(name)
		if f.leaf == nil {
			if c.leaf != nil {
				if c.leaf.Source.Layer >= src.Layer {
					o := Origin{Source: src, Value: map[string]any{}}
					if f.decl != nil {
						o.Range = f.decl.Range
					}
					if c.leaf.Source.Layer == src.Layer && c.leaf.Source != src && c.conflict == nil {
						c.conflict = &o
					}
					continue
				}
				// A struct replacing a lower layer's leaf.
				c.Overridden = append(c.Overridden, *c.leaf)
				c.leaf = nil
			}
			merge(c, f, src)
			continue
		}
		if c.leaf == nil && len(c.fields) > 0 {
			// A leaf replacing a struct of lower layers.
			c.fields, c.order = nil, nil
		}
		if slab == nil {
			slab = make([]Origin, 0, len(from.order))
		}
		slab = append(slab, *f.leaf)
		c.put(&slab[len(slab)-1])
	}
}

// put records o, which n may keep, as the value of leaf n, applying the
// layer order.
func (n *Node) put(o *Origin) {
	switch {
	case n.leaf == nil:
		n.leaf = o
	case o.Source.Layer > n.leaf.Source.Layer:
		n.Overridden = append(n.Overridden, *n.leaf)
		if n.conflict != nil {
			n.Overridden = append(n.Overridden, *n.conflict)
			n.conflict = nil
		}
		n.leaf = o
	case o.Source.Layer == n.leaf.Source.Layer:
		if o.Source != n.leaf.Source && !equal(o.Value, n.leaf.Value) && n.conflict == nil {
			n.conflict = o
		}
	default:
		// A lower layer arriving later than a higher one: the higher
		// value stays, and the lower one is recorded as overridden.
		n.Overridden = append(n.Overridden, *o)
	}
}

func pathString(v cue.Value) string {
	sels := v.Path().Selectors()
	parts := make([]string, len(sels))
	for i, s := range sels {
		parts[i] = s.String()
	}
	return strings.Join(parts, ".")
}

// Data converts a concrete CUE value to Go data: string, bool, int64 (or
// *big.Int when it does not fit), float64, nil, []any or map[string]any.
func Data(v cue.Value) (any, error) {
	switch v.Kind() {
	case cue.NullKind:
		return nil, nil
	case cue.BoolKind:
		return v.Bool()
	case cue.StringKind:
		return v.String()
	case cue.BytesKind:
		b, err := v.Bytes()
		return string(b), err
	case cue.IntKind:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		var z big.Int
		_, err := v.Int(&z)
		return &z, err
	case cue.FloatKind, cue.NumberKind:
		return v.Float64()
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return nil, err
		}
		out := []any{}
		for it.Next() {
			x, err := Data(it.Value())
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case cue.StructKind:
		it, err := v.Fields()
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for it.Next() {
			x, err := Data(it.Value())
			if err != nil {
				return nil, err
			}
			out[it.Selector().Unquoted()] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v: value is not concrete", v)
}

// Finish reports the conflicts that no higher layer resolved and returns
// every problem found while merging, sorted.
func (m *Merger) Finish() diag.List {
	var walk func(n *Node, path []string)
	walk = func(n *Node, path []string) {
		if n.conflict != nil {
			a, b := *n.leaf, *n.conflict
			m.diags.Add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    b.Range,
				Path:     append([]string(nil), path...),
				Summary: fmt.Sprintf("%s: %s and %s disagree: %s vs %s", strings.Join(path, "."),
					a.Source, b.Source, Show(a.Value), Show(b.Value)),
				Detail: "set the value in a higher layer (the host) to resolve it",
				Related: []diag.Related{
					{Range: a.Range, Message: fmt.Sprintf("%s sets %s", a.Source, Show(a.Value))},
					{Range: b.Range, Message: fmt.Sprintf("%s sets %s", b.Source, Show(b.Value))},
				},
			})
		}
		for _, name := range n.order {
			walk(n.fields[name], append(path, name))
		}
	}
	walk(&m.Root, make([]string, 0, 16))
	m.diags.Sort()
	return m.diags
}

// Data returns the merged tree as Go data: map[string]any for structs,
// the winning values for leaves.
func (n *Node) Data() any {
	if n.leaf != nil {
		return n.leaf.Value
	}
	out := make(map[string]any, len(n.fields))
	for name, c := range n.fields {
		out[name] = c.Data()
	}
	return out
}

// Walk calls f for every leaf under n, with its path (a slice of f's
// own), in the order the fields were first set: cheaper than Leaves where
// the order does not matter.
func (n *Node) Walk(prefix []string, f func(path []string, n *Node)) {
	n.walk(append(make([]string, 0, len(prefix)+16), prefix...), false, f)
}

// Leaves calls f for every leaf under n, in field order, with its path
// (a slice of f's own).
func (n *Node) Leaves(prefix []string, f func(path []string, n *Node)) {
	n.walk(append(make([]string, 0, len(prefix)+16), prefix...), true, f)
}

// walk serves Walk and Leaves. One slice holds the path down the tree and
// is copied for f at each leaf only, so that a walk costs the leaves'
// paths and not the square of the tree's depth.
func (n *Node) walk(path []string, sorted bool, f func(path []string, n *Node)) {
	if n.leaf != nil {
		f(slices.Clone(path), n)
		return
	}
	names := n.order
	if sorted {
		names = append([]string(nil), n.order...)
		sort.Strings(names)
	}
	for _, name := range names {
		n.fields[name].walk(append(path, name), sorted, f)
	}
}

// Range converts a CUE position to a diag range of one point.
func Range(p token.Pos) diag.Range {
	if !p.IsValid() {
		return diag.Range{}
	}
	pp := p.Position()
	at := diag.Pos{Line: pp.Line, Col: pp.Column, Offset: pp.Offset}
	return diag.Range{File: pp.Filename, Start: at, End: at}
}

// Show formats a leaf value for messages, in CUE syntax.
func Show(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + Show(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// equal reports whether a and b show alike: without formatting them when
// both are strings, booleans or integers, which show alike exactly when
// they are equal.
func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	}
	return Show(a) == Show(b)
}
