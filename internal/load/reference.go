package load

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
)

// A Field is one field of the schema as the field reference lists it:
// what a fleet may write there, which layers may write it, and an example.
type Field struct {
	// Path is the field's path in its section: a host's fields from the
	// host's root (network.ssh.port); the others from the fleet's root
	// (settings.output, secrets.<secret>.file). A key of a collection is
	// a placeholder such as <user> or <name>.
	Path []string
	// Section is where the field is written: "host", "template",
	// "profile", "settings" or "secret".
	Section string
	// Kind is "struct" (fields below), "map" (entries keyed by Key),
	// "list" or "value".
	Kind string
	// Base is the kind of value the field holds as CUE names it: "bool",
	// "int", "number", "string", or "" for structs, lists and markers.
	Base string
	// Key is the placeholder of a map's keys ("<name>"), and KeyType
	// what a key must be (CUE).
	Key, KeyType string
	// Type is the constraint as CUE writes it: `#Port`,
	// `"client" | "server"`, `int & >=1000 & <=60000`.
	Type string
	// Words says in plain words what the field holds.
	Words string
	// Allowed are the values of an enumeration, as CUE literals.
	Allowed []string
	// Default is the schema's default, as CUE, or "".
	Default string
	// Required says that every host must set the field (after merging
	// its layers); fields required only in some cases say so in Doc.
	Required bool
	// Doc is the field's doc comment.
	Doc string
	// Layers are the layers that may set the field, lowest first:
	// "hardware profile", "template", "user", "profile", "host"; or
	// "settings", "secret" for those sections.
	Layers []string
	// Example is a line of CUE setting the field, from the root of its
	// layer (`network: ssh: port: 2222`), or "" for a struct; ExampleValue
	// is the value it sets (`2222`).
	Example, ExampleValue string
	// exampleKey is the key of a map's example entry.
	exampleKey string
	// Defs are the named definitions the type uses (#Port), for the
	// reference's list of types.
	Defs []string
}

// PathString formats the field's path with dots.
func (f *Field) PathString() string { return strings.Join(f.Path, ".") }

// A Def is a named definition of the schema that field types use.
type Def struct {
	// Name is the definition's name ("#Port").
	Name string
	// Type is its constraint as CUE.
	Type string
	// Doc is its doc comment.
	Doc string
}

// A Reference is every field of the schema, built from the schema itself.
// It is read-only after Build and safe for concurrent use.
type Reference struct {
	// Fields are every field, in schema order within each section:
	// host, template, profile, settings, secret.
	Fields []*Field
	// Defs are the named definitions field types use, by name.
	Defs []Def

	root   refNode
	byPath map[string]*Field
	// mu serializes Accepts: the schema's CUE values are not safe for
	// concurrent use.
	mu sync.Mutex
	// values are the schema values of the fields, for Accepts.
	values map[*Field]cue.Value
	ctx    *cue.Context
	// messages are the sentences the schema states its rules in.
	messages *messages
}

// Accepts reports whether the field f takes the CUE value src (`"25.05"`,
// `22`), as the schema checks it.
func (r *Reference) Accepts(f *Field, src string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.values[f]
	if !ok {
		return false
	}
	x := r.ctx.CompileString(src)
	return x.Err() == nil && v.Unify(x).Validate(cue.Concrete(true)) == nil
}

// A refNode is a field of the reference's tree: its children by label,
// and the entries of a map under its Key placeholder.
type refNode struct {
	field    *Field
	children map[string]*refNode
	order    []string
}

func (n *refNode) child(label string) *refNode {
	if n.children == nil {
		n.children = map[string]*refNode{}
	}
	c := n.children[label]
	if c == nil {
		c = &refNode{}
		n.children[label] = c
		n.order = append(n.order, label)
	}
	return c
}

// key returns the placeholder child of a map node, or nil.
func (n *refNode) key() *refNode {
	for _, l := range n.order {
		if isPlaceholder(l) {
			return n.children[l]
		}
	}
	return nil
}

func isPlaceholder(label string) bool {
	return strings.HasPrefix(label, "<") && strings.HasSuffix(label, ">")
}

// A layerDef is a definition of the schema that one layer of a fleet is
// written against, and where its fields land.
type layerDef struct {
	def     Path
	layer   string   // the layer's name
	section string   // the reference section it documents
	prefix  []string // where its fields land in the section
	sub     []string // the part of the definition that lands there
	own     []string // fields the layer keeps to itself (documented in its own section)
}

// layerDefs are the definitions each layer is written against: the host
// first (its fields give the reference its order), then the layers below
// it, then the fleet's other entries.
var layerDefs = []layerDef{
	{def: "#HostSpec", layer: "host", section: "host"},
	{def: "#HardwareSpec", layer: "hardware profile", section: "host", prefix: []string{"hardware"}},
	{def: "#Template", layer: "template", section: "host", own: []string{"description", "fixed"}},
	{def: "#UserSpec", layer: "user", section: "host", prefix: []string{"users", "<user>"}},
	{def: "#Profile", layer: "profile", section: "host", prefix: []string{"users", "<user>", "home"}, sub: []string{"home"}},
	{def: "#Template", layer: "template", section: "template", prefix: []string{"templates", "<name>"}, sub: []string{"description"}},
	{def: "#Template", layer: "template", section: "template", prefix: []string{"templates", "<name>"}, sub: []string{"fixed"}},
	{def: "#Profile", layer: "profile", section: "profile", prefix: []string{"profiles", "<name>"}, sub: []string{"description"}},
	{def: "#Profile", layer: "profile", section: "profile", prefix: []string{"profiles", "<name>"}, sub: []string{"fixed"}},
	{def: "#Settings", layer: "settings", section: "settings", prefix: []string{"settings"}},
	{def: "#Secret", layer: "secret", section: "secret", prefix: []string{"secrets", "<secret>"}},
}

// fullDefs are the full forms that give each section's defaults and
// required fields, and the prefix of the section they start at.
var fullDefs = map[string]struct {
	def    Path
	prefix int
}{
	"host":     {HostDef, 0},
	"settings": {SettingsDef, 1},
	"secret":   {SecretDef, 2},
}

// referenceCache holds the reference of each schema, built once.
var referenceCache struct {
	sync.Mutex
	m map[fs.FS]*referenceOnce
}

type referenceOnce struct {
	once sync.Once
	ref  *Reference
	err  error
}

// BuildReference returns the field reference of the schema in schemaFS,
// built once per schema; a schema in a file system that cannot be a map
// key (an fstest.MapFS) is built on every call.
func BuildReference(schemaFS fs.FS) (*Reference, error) {
	if t := reflect.TypeOf(schemaFS); t == nil || !t.Comparable() {
		return buildReference(schemaFS)
	}
	referenceCache.Lock()
	if referenceCache.m == nil {
		referenceCache.m = map[fs.FS]*referenceOnce{}
	}
	o := referenceCache.m[schemaFS]
	if o == nil {
		o = &referenceOnce{}
		referenceCache.m[schemaFS] = o
	}
	referenceCache.Unlock()
	o.once.Do(func() { o.ref, o.err = buildReference(schemaFS) })
	return o.ref, o.err
}

// referenceRoot is the directory the schema is overlaid at to build the
// reference; nothing is read from it.
const referenceRoot = "/fleetgen-reference"

func buildReference(schemaFS fs.FS) (*Reference, error) {
	root, err := filepath.Abs(referenceRoot)
	if err != nil {
		return nil, err
	}
	ov, _, err := schemaOverlay(root, schemaFS)
	if err != nil {
		return nil, err
	}
	ov[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString("module: \"fleetnix.dev/reference@v0\"\nlanguage: version: \"v0.17.0\"\n")
	ctx := cuecontext.New()
	s, d := buildSchema(ctx, &load.Config{Dir: root, Overlay: ov})
	if d != nil {
		return nil, d.Err()
	}
	msgs, err := schemaMessages(schemaFS)
	if err != nil {
		return nil, err
	}
	b := &refBuilder{ctx: ctx, schema: s, ref: &Reference{byPath: map[string]*Field{}, values: map[*Field]cue.Value{}, ctx: ctx, messages: msgs}, defs: map[string]Def{}}
	for _, ld := range layerDefs {
		v := s.LookupPath(cue.ParsePath(string(ld.def)))
		if !v.Exists() {
			return nil, fmt.Errorf("the schema has no %s", ld.def)
		}
		b.layer = ld
		if len(ld.sub) > 0 {
			f, ok := fieldOf(v, ld.sub[0])
			if !ok {
				return nil, fmt.Errorf("the schema's %s has no field %s", ld.def, ld.sub[0])
			}
			if ld.section != "host" {
				// A single field of the definition, documented as itself.
				b.field(f.v, append(append([]string(nil), ld.prefix...), ld.sub[0]), 0)
				continue
			}
			v = f.v
		}
		b.walk(v, ld.prefix, 0)
		// The layer writes the entry it lands in, too (a user's account
		// is users.<user>).
		if f := b.ref.byPath[strings.Join(ld.prefix, ".")]; f != nil && ld.section == "host" && !slices.Contains(f.Layers, ld.layer) {
			f.Layers = append(f.Layers, ld.layer)
		}
	}
	sort.SliceStable(b.ref.Fields, func(i, j int) bool {
		return slices.Index(sectionNames, b.ref.Fields[i].Section) < slices.Index(sectionNames, b.ref.Fields[j].Section)
	})
	for _, f := range b.ref.Fields {
		sort.SliceStable(f.Layers, func(i, j int) bool {
			return slices.Index(layerNames, f.Layers[i]) < slices.Index(layerNames, f.Layers[j])
		})
	}
	for _, name := range keys(b.defs) {
		b.ref.Defs = append(b.ref.Defs, b.defs[name])
	}
	return b.ref, nil
}

// layerNames are the layers in the order the merge applies them, then
// the fleet's other entries; sectionNames the reference's sections.
var (
	layerNames   = []string{"hardware profile", "template", "user", "profile", "host", "settings", "secret"}
	sectionNames = []string{"host", "template", "profile", "settings", "secret"}
)

// A refBuilder walks the schema's layer definitions into a Reference.
type refBuilder struct {
	ctx    *cue.Context
	schema cue.Value
	ref    *Reference
	layer  layerDef
	defs   map[string]Def
}

// A subField is a field of a struct value, with its label.
type subField struct {
	label    string
	v        cue.Value
	required bool
	pattern  bool
	key      cue.Value // a pattern's label constraint
}

// fieldsOf returns the fields of the struct v: regular, optional and
// required ones, then its pattern constraints, in schema order. Fields
// whose labels start with "#" or "_" are not a fleet's to write.
func fieldsOf(v cue.Value) []subField {
	it, err := v.Fields(cue.Optional(true), cue.Patterns(true))
	if err != nil {
		return nil
	}
	var out, patterns []subField
	for it.Next() {
		sel := it.Selector()
		if sel.ConstraintType()&cue.PatternConstraint != 0 {
			patterns = append(patterns, subField{v: it.Value(), pattern: true, key: sel.Pattern()})
			continue
		}
		if !sel.IsString() {
			continue
		}
		label := sel.Unquoted()
		if strings.HasPrefix(label, "#") || strings.HasPrefix(label, "_") {
			continue
		}
		out = append(out, subField{label: label, v: it.Value(), required: sel.ConstraintType() == cue.RequiredConstraint})
	}
	if it := v.LookupPath(cue.MakePath(cue.AnyString)); it.Exists() && len(patterns) == 0 {
		patterns = append(patterns, subField{v: it, pattern: true})
	}
	return append(out, patterns...)
}

// fieldOf returns the field label of the struct v.
func fieldOf(v cue.Value, label string) (subField, bool) {
	for _, f := range fieldsOf(v) {
		if !f.pattern && f.label == label {
			return f, true
		}
	}
	return subField{}, false
}

// walk adds the fields of the struct v at path, and those below them.
func (b *refBuilder) walk(v cue.Value, path []string, depth int) {
	if depth > 12 {
		return // the schema has no deeper fields; a cycle would stop here
	}
	for _, f := range fieldsOf(v) {
		if f.pattern {
			continue // a struct's own pattern is a map, handled by field
		}
		if len(path) == 0 && slices.Contains(b.layer.own, f.label) {
			continue
		}
		b.field(f.v, append(path[:len(path):len(path)], f.label), depth)
	}
}

// field adds the field at path with value v, and its fields.
func (b *refBuilder) field(v cue.Value, path []string, depth int) {
	key := strings.Join(path, ".")
	f := b.ref.byPath[key]
	if f == nil {
		f = &Field{Path: path, Section: b.layer.section}
		b.describe(f, v)
		b.ref.values[f] = v
		b.ref.byPath[key] = f
		b.ref.Fields = append(b.ref.Fields, f)
		n := &b.ref.root
		for _, l := range path {
			n = n.child(l)
		}
		n.field = f
	}
	if !slices.Contains(f.Layers, b.layer.layer) {
		f.Layers = append(f.Layers, b.layer.layer)
	}
	switch f.Kind {
	case "struct":
		b.walk(v, path, depth+1)
	case "map":
		for _, p := range fieldsOf(v) {
			if p.pattern {
				b.field(p.v, append(path[:len(path):len(path)], f.Key), depth+1)
				break
			}
		}
	}
}

// markerOf returns the label of a marker struct ({$secret: name}): a
// struct whose only field starts with "$".
func markerOf(v cue.Value) string {
	if v.IncompleteKind() != cue.StructKind {
		return ""
	}
	fs := fieldsOf(v)
	if len(fs) == 1 && !fs[0].pattern && strings.HasPrefix(fs[0].label, "$") {
		return fs[0].label
	}
	return ""
}

// describe fills in what f is from its schema value v.
func (b *refBuilder) describe(f *Field, v cue.Value) {
	f.Doc = docText(v)
	f.Type = cueText(v)
	f.Defs = defNames(v)
	for _, n := range f.Defs {
		b.def(n)
	}
	switch k := v.IncompleteKind(); {
	case markerOf(v) != "":
		f.Kind = "value"
	case k == cue.StructKind:
		f.Kind = "struct"
		for _, p := range fieldsOf(v) {
			if p.pattern {
				f.Kind = "map"
				kt, ok := patternLabel(v)
				if !ok && p.key.Exists() {
					kt = cueText(p.key)
				}
				f.Key, f.KeyType = keyPlaceholder(kt)
				if len(fieldsOf(v)) == 1 {
					f.Type = "{[" + f.KeyType + "]: " + cueText(p.v) + "}"
				}
				f.Defs = append(f.Defs, defNames(p.v)...)
				for _, n := range defNames(p.v) {
					b.def(n)
				}
				break
			}
		}
	case k == cue.ListKind:
		f.Kind = "list"
	default:
		f.Kind = "value"
	}
	f.Allowed = enumValues(v)
	if f.Kind == "value" && markerOf(v) == "" {
		f.Base = kindName(v.IncompleteKind())
	}
	f.Words = b.words(v)
	if f.Kind == "map" {
		f.Words = strings.Replace(f.Words, "keyed by name", "keyed by "+f.Key, 1)
	}
	b.fullForm(f)
	f.Example = b.example(f, v)
}

// fullForm fills in f's default and whether it is required, from the
// full form of its section.
func (b *refBuilder) fullForm(f *Field) {
	fd, ok := fullDefs[f.Section]
	if !ok || f.Kind == "struct" || f.Kind == "map" {
		return
	}
	v := b.schema.LookupPath(cue.ParsePath(string(fd.def)))
	path := f.Path[fd.prefix:]
	for i, l := range path {
		if isPlaceholder(l) {
			// An entry of a map: the value a key gets from all the
			// map's patterns together.
			k := keyExamples[l][0]
			v = v.Unify(b.ctx.CompileString("{" + cueLabel(k) + ": _}")).LookupPath(cue.MakePath(cue.Str(k)))
			continue
		}
		sf, ok := fieldOf(v, l)
		if !ok {
			return
		}
		if i == len(path)-1 && sf.required {
			f.Required = true
		}
		v = sf.v
	}
	d, ok := v.Default()
	if !ok || !d.IsConcrete() || d.Kind() == cue.StructKind || computed(v) {
		return
	}
	if b, err := d.MarshalJSON(); err == nil && string(b) != "[]" {
		f.Default = string(b)
	}
}

// computed reports whether v's default is computed from other fields (the
// schema says so in the field's doc) rather than written as a literal.
func computed(v cue.Value) bool {
	found := false
	ast.Walk(v.Syntax(cue.Raw()), func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			found = true
		case *ast.Ident:
			if !strings.HasPrefix(x.Name, "#") && x.Name != "_" && kindOfIdent[x.Name] == false {
				found = true
			}
		}
		return !found
	}, nil)
	return found
}

// kindOfIdent are the identifiers that name types, not fields.
var kindOfIdent = map[string]bool{"string": true, "int": true, "bool": true, "float": true, "number": true,
	"bytes": true, "null": true, "uint": true, "true": true, "false": true}

// docText returns the doc comment of v's field in the schema.
func docText(v cue.Value) string {
	var parts []string
	for _, g := range v.Doc() {
		if t := strings.TrimSpace(g.Text()); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}

// cueText formats v's constraint as the schema writes it, on one line.
func cueText(v cue.Value) string {
	b, err := format.Node(withoutChecks(v.Syntax(cue.Raw())))
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	return strings.ReplaceAll(strings.ReplaceAll(s, "{ ", "{"), " }", "}")
}

// withoutChecks returns the type n says without the schema's checks: a
// check is [if cond {T}, "message"][0], which is T where cond holds and a
// message (a string, so an error with a bool or a number) where not; a
// reader wants T. A struct that only embeds T is T.
func withoutChecks(n ast.Node) ast.Node {
	e, ok := n.(ast.Expr)
	if !ok {
		return n
	}
	switch x := e.(type) {
	case *ast.ParenExpr:
		return withoutChecks(x.X)
	case *ast.StructLit:
		if len(x.Elts) == 1 {
			if em, ok := x.Elts[0].(*ast.EmbedDecl); ok {
				return withoutChecks(em.Expr)
			}
		}
	case *ast.IndexExpr:
		if t, ok := checkedType(x); ok {
			return withoutChecks(t)
		}
	case *ast.BinaryExpr:
		if x.Op != token.AND {
			return x
		}
		l, r := withoutChecks(x.X), withoutChecks(x.Y)
		switch {
		case isCheck(x.X):
			return r
		case isCheck(x.Y):
			return l
		}
		le, lok := l.(ast.Expr)
		re, rok := r.(ast.Expr)
		if lok && rok {
			return &ast.BinaryExpr{X: le, Op: x.Op, Y: re}
		}
	}
	return e
}

// checkedType returns T of a check [if cond {T}, "message"][0].
func checkedType(x *ast.IndexExpr) (ast.Expr, bool) {
	l, ok := x.X.(*ast.ListLit)
	if !ok || len(l.Elts) != 2 {
		return nil, false
	}
	switch m := l.Elts[1].(type) {
	case *ast.BasicLit:
		if m.Kind != token.STRING {
			return nil, false
		}
	case *ast.Interpolation:
	default:
		return nil, false
	}
	c, ok := l.Elts[0].(*ast.Comprehension)
	if !ok {
		return nil, false
	}
	body, ok := c.Value.(*ast.StructLit)
	if !ok || len(body.Elts) != 1 {
		return nil, false
	}
	em, ok := body.Elts[0].(*ast.EmbedDecl)
	if !ok {
		return nil, false
	}
	return em.Expr, true
}

func isCheck(e ast.Expr) bool {
	x, ok := e.(*ast.IndexExpr)
	if !ok {
		return false
	}
	_, ok = checkedType(x)
	return ok
}

// defNames returns the names of the schema definitions v refers to
// directly (#Port), in order.
func defNames(v cue.Value) []string {
	var out []string
	ast.Walk(v.Syntax(cue.Raw()), func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, "#") {
			if !slices.Contains(out, id.Name) {
				out = append(out, id.Name)
			}
		}
		return true
	}, nil)
	return out
}

// def records the named definition name for the list of types.
func (b *refBuilder) def(name string) {
	if _, ok := b.defs[name]; ok {
		return
	}
	v := b.schema.LookupPath(cue.MakePath(cue.Def(name)))
	if !v.Exists() {
		return
	}
	if v.IncompleteKind() == cue.StructKind && markerOf(v) == "" {
		return // a struct's fields are documented one by one
	}
	d := Def{Name: name, Doc: docText(v), Type: cueText(v)}
	b.defs[name] = d
}

// enumValues returns the values of v when it is a disjunction of
// concrete scalars, as CUE literals.
func enumValues(v cue.Value) []string {
	op, args := v.Expr()
	if op != cue.OrOp {
		return nil
	}
	var out []string
	for _, a := range args {
		if !a.IsConcrete() || a.Kind() == cue.StructKind || a.Kind() == cue.ListKind {
			return nil
		}
		out = append(out, cueText(a))
	}
	return out
}

// patternLabel returns the label constraint of the map v as the schema
// writes it (#UserName in [#UserName]: ...).
func patternLabel(v cue.Value) (string, bool) {
	s, ok := v.Syntax(cue.Raw()).(*ast.StructLit)
	if !ok {
		return "", false
	}
	for _, e := range s.Elts {
		f, ok := e.(*ast.Field)
		if !ok {
			continue
		}
		if l, ok := f.Label.(*ast.ListLit); ok && len(l.Elts) == 1 {
			b, err := format.Node(l.Elts[0])
			if err != nil {
				return "", false
			}
			return string(b), true
		}
	}
	return "", false
}

// keyPlaceholder names the keys of a map whose label constraint is t:
// <user> for #UserName, <host> for #HostName, <path> for absolute paths.
func keyPlaceholder(t string) (string, string) {
	switch t {
	case "", "_", "string":
		return "<key>", "string"
	case "#UserName":
		return "<user>", t
	case "#HostName":
		return "<host>", t
	case "#SecretName":
		return "<secret>", t
	case "#Name":
		return "<name>", t
	case "#CIDR":
		return "<cidr>", t
	case "#Pkg":
		return "<package>", t
	case "#InputName":
		return "<input>", t
	case `=~"^/"`:
		return "<path>", t
	}
	return "<key>", t
}

// words says in plain words what v holds.
func (b *refBuilder) words(v cue.Value) string {
	switch markerOf(v) {
	case "$secret":
		return `a secret reference: {$secret: "<name of a declared secret>"}, never a literal`
	case "$nix":
		return `a raw Nix expression: {$nix: "<expression>"}`
	case "$pkg":
		return `a package: {$pkg: "<nixpkgs attribute path>"}`
	case "$inputPkg":
		return `a package of a flake input: {$inputPkg: {input: "<input>", attr: "<attribute>"}}`
	case "$force":
		return `a value that overrides NixOS's own: {$force: <value>}`
	case "$default":
		return `a value that yields to any other: {$default: <value>}`
	}
	if vals := enumValues(v); len(vals) > 0 {
		return "one of " + strings.Join(vals, ", ")
	}
	if v.IncompleteKind() == cue.StructKind {
		var names []string
		for _, p := range fieldsOf(v) {
			if p.pattern {
				return "entries keyed by name, each " + strings.TrimPrefix(b.words(p.v), "entries keyed by name, each ")
			}
			names = append(names, p.label)
		}
		return "a struct of " + strings.Join(names, ", ")
	}
	t := cueText(v)
	if names := defNames(v); len(names) == 1 && t == names[0] {
		if d, ok := b.defs[t]; ok {
			if w := defWords(d); w != "" {
				return w
			}
		}
	}
	kind := kindWords(v.IncompleteKind())
	switch {
	case t == "_":
		return "any value"
	case t == kindName(v.IncompleteKind()):
		return kind
	case kind != "":
		return kind + " (" + t + ")"
	}
	// A type that depends on the key of its entry (a check of the key)
	// has no kind of its own: the words of the kind it names.
	for _, n := range kinds {
		if n[0] != "" && n[0] == t {
			return n[1]
		}
	}
	return t
}

// defWords turns a definition's doc ("A Port is a TCP or UDP port
// number.") into words for a field of that type ("a TCP or UDP port
// number"), with its constraint.
func defWords(d Def) string {
	first := d.Doc
	for _, stop := range []string{". ", ": "} {
		if i := strings.Index(first, stop); i >= 0 {
			first = first[:i]
		}
	}
	first = strings.TrimSuffix(strings.ReplaceAll(strings.TrimSpace(first), "\n", " "), ".")
	name := strings.TrimPrefix(d.Name, "#")
	for _, art := range []string{"A ", "An "} {
		if rest, ok := strings.CutPrefix(first, art+name+" is "); ok {
			first = rest
			if d.Type != "" && !strings.HasPrefix(d.Type, "{") {
				return first + " (" + d.Type + ")"
			}
			return first
		}
	}
	return ""
}

// kinds name each kind of scalar as CUE writes it and in words.
var kinds = map[cue.Kind][2]string{
	cue.BoolKind:   {"bool", "true or false"},
	cue.IntKind:    {"int", "an integer"},
	cue.FloatKind:  {"number", "a number"},
	cue.NumberKind: {"number", "a number"},
	cue.StringKind: {"string", "a string"},
	cue.StructKind: {"", "a struct"},
	cue.ListKind:   {"", "a list"},
	cue.NullKind:   {"null", "null"},
}

func kindName(k cue.Kind) string  { return kinds[k][0] }
func kindWords(k cue.Kind) string { return kinds[k][1] }

// quoted finds example strings in doc comments: "25.05", "30s".
var quoted = regexp.MustCompile(`"([^"\\\s][^"\\]*)"`)

// example returns a line of CUE that sets f, checked against the schema:
// a value quoted in its doc or its type's doc, else its default, else one
// made from its type.
func (b *refBuilder) example(f *Field, v cue.Value) string {
	if f.Kind == "struct" {
		return ""
	}
	var cands []string
	switch m := markerOf(v); m {
	case "$secret":
		cands = append(cands, fmt.Sprintf("{$secret: %q}", secretExample(f.Path)))
	case "$nix":
		cands = append(cands, `{$nix: "pkgs.hello"}`)
	case "$pkg":
		cands = append(cands, `{$pkg: "hello"}`)
	case "":
	default:
		cands = append(cands, "{"+m+": true}")
	}
	switch f.Kind {
	case "map":
		entry := "true"
		var key cue.Value // the keys' constraint, if any
		for _, p := range fieldsOf(v) {
			if p.pattern {
				entry = b.valueExample(p.v, f.Path, "")
				key = p.key
				break
			}
		}
		keys := docStrings(f.Doc)
		keys = append(keys, keyExamples[f.Key]...)
		for _, k := range keys {
			if key.Exists() && !b.valid(key, strconv.Quote(k)) {
				continue
			}
			c := "{" + cueLabel(k) + ": " + entry + "}"
			if !b.valid(v, c) {
				// The entry's type may depend on its key (a check of
				// the key): an entry made for this key.
				e := v.Unify(b.ctx.CompileString("{" + cueLabel(k) + ": _}")).LookupPath(cue.MakePath(cue.Str(k)))
				c = "{" + cueLabel(k) + ": " + b.valueExample(e, f.Path, "") + "}"
			}
			if b.valid(v, c) {
				f.exampleKey = k
				return b.renderExample(f, c)
			}
		}
		return ""
	case "list":
		el := v.LookupPath(cue.MakePath(cue.AnyIndex))
		for _, s := range docStrings(f.Doc) {
			if c := "[" + strconv.Quote(s) + "]"; b.valid(v, c) {
				return b.renderExample(f, c)
			}
		}
		if el.Exists() {
			if c := "[" + b.valueExample(el, f.Path, "") + "]"; b.valid(v, c) {
				return b.renderExample(f, c)
			}
		}
		return ""
	}
	cands = append(cands, b.valueExample(v, f.Path, f.Default))
	for _, c := range cands {
		if b.valid(v, c) {
			return b.renderExample(f, c)
		}
	}
	return b.entryExample(f)
}

// entryExample returns the example of f, an entry of a map, when its type
// depends on its key: the map's example entry, under the map's example key.
func (b *refBuilder) entryExample(f *Field) string {
	n := len(f.Path)
	if n < 2 || !isPlaceholder(f.Path[n-1]) {
		return ""
	}
	m := b.ref.byPath[strings.Join(f.Path[:n-1], ".")]
	if m == nil || m.exampleKey == "" {
		return ""
	}
	v := b.ref.values[m]
	e := v.Unify(b.ctx.CompileString("{" + cueLabel(m.exampleKey) + ": _}")).LookupPath(cue.MakePath(cue.Str(m.exampleKey)))
	c := b.valueExample(e, f.Path, "")
	if !b.valid(v, "{"+cueLabel(m.exampleKey)+": "+c+"}") {
		return ""
	}
	f.ExampleValue = c
	return b.exampleLine(f.Path, c)
}

// keyExamples are keys tried for a map's entries when its doc quotes none.
var keyExamples = map[string][]string{
	"<user>": {"alice"}, "<host>": {"web"}, "<secret>": {"api-key"}, "<path>": {"/data"},
	"<name>": {"main", "example"}, "<cidr>": {"192.168.1.0/24"}, "<package>": {"hello"},
	"<input>": {"nixpkgs"}, "<key>": {"example", "/data", "EXAMPLE", "/dev/sda"},
}

// valueExample returns a CUE value for the scalar or marker v whose
// default is def: one quoted in the docs, the default, or one made from
// its type.
func (b *refBuilder) valueExample(v cue.Value, path []string, def string) string {
	switch markerOf(v) {
	case "$secret":
		return fmt.Sprintf("{$secret: %q}", secretExample(path))
	case "$nix":
		return `{$nix: "pkgs.hello"}`
	case "$pkg":
		return `{$pkg: "hello"}`
	}
	if vals := enumValues(v); len(vals) > 0 {
		for _, x := range vals {
			// A value other than the default: that is why one writes it.
			if x != def {
				return x
			}
		}
		return vals[0]
	}
	var cands, docs []string
	docs = append(docs, docStrings(docText(v))...)
	names := defNames(v)
	for _, n := range names {
		if d, ok := b.defs[n]; ok {
			docs = append(docs, docStrings(d.Doc)...)
		}
	}
	// A field may take more than one kind ((int & >=1) | #Percent): the
	// quoted strings first, then the default, numbers and strings.
	k := v.IncompleteKind()
	if k&cue.BoolKind != 0 {
		if k == cue.BoolKind || b.valid(v, "true") {
			return "true"
		}
	}
	if k&cue.StringKind != 0 {
		for _, s := range docs {
			cands = append(cands, strconv.Quote(s))
		}
	}
	if def != "" {
		cands = append(cands, def)
	}
	if k&cue.NumberKind != 0 {
		if slices.Contains(names, "#Port") {
			cands = append(cands, "8080")
		}
		cands = append(cands, "1", "10", "200", "1000", "0")
	}
	if k&cue.StringKind != 0 {
		cands = append(cands, stringExamples...)
	}
	if k&(cue.NumberKind|cue.StringKind|cue.BoolKind) == 0 {
		cands = append(cands, "true")
	}
	// Last, the values of a disjunction the field names (#EFIMountPoint).
	cands = append(cands, enumValues(cue.Dereference(v))...)
	for _, c := range cands {
		if b.valid(v, c) {
			return c
		}
	}
	return ""
}

// stringExamples are tried, in order, for a string field whose docs quote
// no valid example.
var stringExamples = []string{
	`"example"`, `"/data"`, `"/dev/sda"`, `"192.168.1.10"`, `"https://cache.example.com"`,
	`"alice@example.com"`, `"30s"`, `"PCI:1:0:0"`, `"secrets/api-key.age"`,
	`"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheReferenceNotAReal0000 alice@laptop"`,
	`"cache.example.com-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="`,
}

// valid reports whether the CUE value src satisfies v.
func (b *refBuilder) valid(v cue.Value, src string) bool {
	x := b.ctx.CompileString(src)
	if x.Err() != nil {
		return false
	}
	return v.Unify(x).Validate(cue.Concrete(true)) == nil
}

// docStrings returns the quoted strings of a doc comment, in order.
func docStrings(doc string) []string {
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// secretExample names a secret after the field holding it:
// grafana.adminPassword → "grafana-admin-password".
func secretExample(path []string) string {
	var parts []string
	for _, l := range path[max(0, len(path)-2):] {
		if isPlaceholder(l) {
			continue
		}
		parts = append(parts, kebab(l))
	}
	return strings.Join(parts, "-")
}

func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// renderExample writes the CUE line that sets f to value, from the root of
// the layer that writes it, placeholders replaced by example keys.
func (b *refBuilder) renderExample(f *Field, value string) string {
	f.ExampleValue = value
	return b.exampleLine(f.Path, value)
}

// exampleLine writes the CUE line that sets path to value, placeholders
// replaced by example keys.
func (b *refBuilder) exampleLine(path []string, value string) string {
	var labels []string
	for i, l := range path {
		if isPlaceholder(l) {
			// The key of the map's own example, which its keys'
			// constraint accepts, else the first example key.
			if m := b.ref.byPath[strings.Join(path[:i], ".")]; m != nil && m.exampleKey != "" {
				l = m.exampleKey
			} else {
				l = keyExamples[l][0]
			}
		}
		labels = append(labels, cueLabel(l))
	}
	return strings.Join(labels, ": ") + ": " + value
}

// cueLabel writes a label as CUE reads it.
func cueLabel(s string) string {
	if ast.IsValidIdent(s) && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "_") {
		return s
	}
	return strconv.Quote(s)
}

// Lookup returns the field at path, a path in the reference's sections
// (network.ssh.port, settings.output, secrets.api-key.file). A concrete
// key matches a placeholder (users.alice.shell is users.<user>.shell), and
// a leading hosts.<name> is dropped. When nothing is there, it returns the
// deepest field that is, and the label that is not.
func (r *Reference) Lookup(path []string) (f *Field, parent *Field, missing string) {
	if len(path) >= 2 && path[0] == string(HostsPath) {
		path = path[2:]
	}
	n := &r.root
	for _, l := range path {
		c := n.children[l]
		if c == nil {
			if k := n.key(); k != nil && !isPlaceholder(l) {
				c = k
			}
		}
		if c == nil {
			return nil, n.field, l
		}
		n = c
	}
	return n.field, nil, ""
}

// Children returns the fields right below f (or, for nil, the top-level
// fields of every section), in schema order.
func (r *Reference) Children(f *Field) []*Field {
	n := &r.root
	if f != nil {
		for _, l := range f.Path {
			n = n.children[l]
			if n == nil {
				return nil
			}
		}
	}
	var out []*Field
	var add func(n *refNode)
	add = func(n *refNode) {
		for _, l := range n.order {
			c := n.children[l]
			if c.field != nil {
				out = append(out, c.field)
			} else {
				add(c) // a section's root (settings, secrets.<secret>)
			}
		}
	}
	add(n)
	return out
}

// Names returns the labels that may follow the path of f (the top level
// for nil), for "did you mean".
func (r *Reference) Names(f *Field) []string {
	var out []string
	for _, c := range r.Children(f) {
		out = append(out, c.Path[len(c.Path)-1])
	}
	return out
}

// Field returns the field a fleet value at path is written against: path
// is a path of the fleet package (hosts.web.network.ssh.port,
// templates.server.deploy.port, users.alice.uid, profiles.dev.home.editors,
// hardware.amd.cpu.vendor, settings.output, secrets.x.file), or nil.
func (r *Reference) Field(path []string) *Field {
	if len(path) < 2 {
		f, _, _ := r.Lookup(path)
		return f
	}
	var rel []string
	switch Path(path[0]) {
	case HostsPath:
		rel = path[2:]
	case TemplatesPath:
		if len(path) > 2 && (path[2] == "description" || path[2] == fixedField) {
			rel = append([]string{"templates", "<name>"}, path[2:]...)
		} else {
			rel = path[2:]
		}
	case HardwarePath:
		rel = append([]string{hardwareField}, path[2:]...)
	case UsersPath:
		rel = append([]string{usersField, "<user>"}, path[2:]...)
	case ProfilesPath:
		if len(path) > 2 && path[2] == homeField {
			rel = append([]string{usersField, "<user>"}, path[2:]...)
		} else {
			rel = append([]string{"profiles", "<name>"}, path[2:]...)
		}
	default:
		rel = path
	}
	if len(rel) == 0 {
		return nil
	}
	f, _, missing := r.Lookup(rel)
	if missing != "" {
		return nil
	}
	return f
}

// Suggest returns the nearest label to missing among those that may
// follow parent, for "did you mean".
func (r *Reference) Suggest(parent *Field, missing string) string {
	return diag.Nearest(missing, r.Names(parent))
}
