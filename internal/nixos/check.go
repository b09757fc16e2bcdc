package nixos

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// The codes of the findings of Check.
const (
	// CodeUnknownOption: an option path the manifest lacks.
	CodeUnknownOption = "nixos-unknown-option"
	// CodeBadValue: a value the option's type rejects.
	CodeBadValue = "nixos-bad-value"
	// CodeUnknownPackage: a pkgs attribute path the manifest lacks.
	CodeUnknownPackage = "nixos-unknown-package"
	// CodeMissingInput: a package or option that comes from a flake the
	// generated flake does not declare, or a reference to an undeclared
	// input.
	CodeMissingInput = "nixos-missing-input"
	// CodeConflict: a normal-priority definition that contradicts what a
	// nixpkgs module defines.
	CodeConflict = "nixos-conflicting-definition"
	// CodeNotModule: a file that is not a module.
	CodeNotModule = "nixos-not-a-module"
	// CodeRenamedOption: an alias of a renamed option (a warning: NixOS
	// still accepts it, and warns).
	CodeRenamedOption = "nixos-renamed-option"
	// CodeRemovedOption: an option nixpkgs removed.
	CodeRemovedOption = "nixos-removed-option"
	// CodeUnindexedPackage: a package an index cannot say anything of,
	// because the fleet did not use it when the index was read (a
	// warning).
	CodeUnindexedPackage = "nixos-unindexed-package"
)

// A Kind is the kind of a generated file, which says which option tree
// its module belongs to.
type Kind int

// The kinds of generated files.
const (
	// NixOSModule is a host module (hosts/<host>.nix).
	NixOSModule Kind = iota + 1
	// HomeModule is a home-manager module (users/<user>/<host>.nix).
	HomeModule
	// DiskoModule is a disko configuration (disks/<host>.nix), a NixOS
	// module.
	DiskoModule
	// InstallerModule is a live installer's NixOS module
	// (installers/<host>.nix).
	InstallerModule
)

// Tree returns the option tree of files of kind k.
func (k Kind) Tree() string {
	if k == HomeModule {
		return "home-manager"
	}
	return "nixos"
}

// KindOf returns the kind of the generated file at rel, a slash-separated
// path relative to the output directory, and false for files that are no
// module (flake.nix, the agenix rules).
func KindOf(rel string) (Kind, bool) {
	parts := strings.Split(rel, "/")
	if !strings.HasSuffix(rel, ".nix") {
		return 0, false
	}
	switch {
	case len(parts) == 2 && parts[0] == "hosts":
		return NixOSModule, true
	case len(parts) == 3 && parts[0] == "users":
		return HomeModule, true
	case len(parts) == 2 && parts[0] == "disks":
		return DiskoModule, true
	case len(parts) == 2 && parts[0] == "installers":
		return InstallerModule, true
	}
	return 0, false
}

// Options say what a check knows of the fleet around a file.
type Options struct {
	// Inputs are the generated flake's inputs, name to url. When nil, the
	// checks that need them are skipped: options and packages from
	// flakes, references to inputs.
	Inputs map[string]string
	// TyposOnly is for a manifest that lists only part of the surface,
	// such as the one checked in with fleet, against which a user's
	// free-form values are checked: an option path or a package it lacks
	// is reported only when it is a likely typo of one it has (one edit
	// away from a name of at least five characters). Without it every
	// path the manifest lacks is reported, as it must be for an index.
	TyposOnly bool
	// Opaque, when set, is a check of one module for several modules
	// that differ only by a name (see Opaque).
	Opaque *Opaque
}

// An Opaque lets one check stand for the checks of modules that differ
// only by a name: the module checked has Name where the others have each
// of Others. Every test of a string's content the check makes on a
// string holding Name is made on the others' strings too, and Differs
// set when one gives another answer; when it stays false and the check
// finds nothing, it finds nothing in the others either.
type Opaque struct {
	Name    string
	Others  []string
	Differs bool
}

// same reports whether test gives the same answer for l, a literal of
// the module checked, as for its counterparts in the others' modules.
func (o *Opaque) same(l literal, test func(literal) any) {
	if o == nil || o.Differs || l.kind != litString || !l.strKnown || !strings.Contains(l.s, o.Name) {
		return
	}
	want := test(l)
	for _, n := range o.Others {
		other := l
		other.s = strings.ReplaceAll(l.s, o.Name, n)
		if test(other) != want {
			o.Differs = true
			return
		}
	}
}

// accepts is leafAccepts, for every module the check stands for.
func (w *walker) accepts(t *Type, l literal) (bool, string) {
	w.opts.Opaque.same(l, func(l literal) any {
		ok, why := leafAccepts(t, l)
		return [2]any{ok, why}
	})
	return leafAccepts(t, l)
}

// Check checks the module in f, a generated file of kind k, against m:
// every option path it defines, every value, every pkgs attribute path,
// and every definition that contradicts one of nixpkgs' own modules.
// Findings are errors at f's positions, with the option path (or the
// package's attribute path) as Path, sorted.
func (m *Manifest) Check(f *syntax.File, k Kind, opts Options) diag.List {
	w := &walker{m: m, f: f, opts: opts, tree: k.Tree(), defs: map[string][]def{}, reported: map[string]bool{}}
	w.module(f.Expr)
	w.references(f.Expr)
	w.conflicts()
	w.diags.Sort()
	return w.diags
}

// A def is one definition of a concrete option path.
type def struct {
	v    syntax.Expr
	prio int
	at   syntax.Node
}

// A walker checks one file.
type walker struct {
	m    *Manifest
	f    *syntax.File
	opts Options
	tree string

	diags    diag.List
	defs     map[string][]def
	reported map[string]bool
	dry      bool     // a trial: no definitions recorded
	pkgNames []string // the manifest's packages, for suggestions
}

func (w *walker) report(at syntax.Node, code string, path []string, detail, format string, args ...any) {
	w.reportAs(diag.Error, at, code, path, detail, format, args...)
}

func (w *walker) reportAs(sev diag.Severity, at syntax.Node, code string, path []string, detail, format string, args ...any) {
	if w.dry && sev < diag.Error {
		return
	}
	w.diags.Add(diag.Diagnostic{
		Severity: sev,
		Range:    w.f.Range(at),
		Summary:  fmt.Sprintf(format, args...),
		Detail:   detail,
		Code:     code,
		Path:     append([]string(nil), path...),
	})
}

// release names the release of a tree for messages: "NixOS
// nixos-25.05", or for an index "the locked nixpkgs (1a2b3c4)".
func (w *walker) release(tree string) string {
	if t, ok := w.m.Trees[tree]; ok {
		tree = t.Extends
	}
	if tree == "home-manager" {
		return w.m.sourceName("home-manager", "home-manager")
	}
	return w.m.sourceName("nixpkgs", "NixOS")
}

// sourceName names a source for messages: the product and the
// manifest's release, or for an index the locked input and the start of
// its revision.
func (m *Manifest) sourceName(name, product string) string {
	if m.Index != nil {
		s := "the locked " + name
		if l := m.Index.Inputs[name]; l.Rev != "" {
			s += " (" + l.Rev[:min(7, len(l.Rev))] + ")"
		}
		return s
	}
	return product + " " + m.Sources[name].Release
}

// module walks a module: a function's body, a let's body, an attribute
// set of option definitions.
func (w *walker) module(e syntax.Expr) {
	for {
		switch x := syntax.Unparen(e).(type) {
		case *syntax.Lambda:
			e = x.Body
			continue
		case *syntax.Let:
			e = x.Body
			continue
		case *syntax.AttrSet:
			root := w.m.roots[w.tree]
			eachAttr(x.Bindings, func(a *syntax.Attr, names []string) {
				if names[0] != "imports" {
					w.step(root, nil, names, a.Value, a, nil, w.tree)
				}
			})
		default:
			w.report(e, CodeNotModule, nil, "", "%s: not a module: the file's value is not an attribute set of option definitions", w.f.Name)
		}
		return
	}
}

// at handles the definition path+names = v where n is the node of path
// (nil outside the manifest's options) and open the type of the
// attributes a freeform submodule above admits.
func (w *walker) at(n *node, path, names []string, v syntax.Expr, at syntax.Node, open *Type, tree string) {
	if n != nil && n.opt != nil && n.opt.Removed {
		detail := "remove the definition"
		if n.opt.Instead != "" {
			detail = n.opt.Instead
		}
		w.report(nameNode(at, 0), CodeRemovedOption, path, detail, "%s: the option was removed from %s", JoinPath(path), w.release(tree))
		return
	}
	if n != nil && n.opt != nil && n.opt.RenamedTo != "" {
		w.reportAs(diag.Warning, nameNode(at, 0), CodeRenamedOption, path, "set "+n.opt.RenamedTo+" instead",
			"%s was renamed to %s", JoinPath(path), n.opt.RenamedTo)
		// The definition is the new option's: check it as one.
		target := w.alias(n.opt, tree)
		if target == nil {
			return
		}
		w.at(target, path, names, v, at, open, tree)
		return
	}
	if n != nil && n.opt != nil {
		w.useOption(n.opt, path, at)
		w.typed(n, n.opt.Type, path, names, v, 100, at, tree)
		return
	}
	if len(names) > 0 {
		w.step(n, path, names, v, at, open, tree)
		return
	}
	// A set of options, not an option.
	v, _ = unwrap(v)
	switch x := v.(type) {
	case *syntax.AttrSet:
		w.bindings(n, path, x, open, tree)
	default:
		if l := classify(v); l.kind != litUnknown {
			w.report(v, CodeBadValue, path, "", "%s: %s is not an option but a set of options; it cannot be %s", JoinPath(path), JoinPath(path), l.describe())
		}
	}
}

// alias returns the node of the option the alias o stands for, following
// aliases of aliases a few steps, or nil.
func (w *walker) alias(o *Option, tree string) *node {
	for range 8 {
		names, err := SplitPath(o.RenamedTo)
		if err != nil {
			return nil
		}
		n := w.m.roots[tree]
		for _, c := range names {
			if n == nil {
				return nil
			}
			n = n.child(c)
		}
		if n == nil || n.opt == nil || n.opt.RenamedTo == "" {
			return n
		}
		o = n.opt
	}
	return nil
}

// likelyTypo returns the candidate one edit away from name, when both
// are at least five characters long: a likely typo, which names that
// short or further apart are not reliably.
func likelyTypo(name string, cands []string) string {
	if len(name) < 5 {
		return ""
	}
	for _, c := range cands {
		if len(c) >= 5 && diag.EditDistance(strings.ToLower(name), strings.ToLower(c)) == 1 {
			return c
		}
	}
	return ""
}

// bindings handles each definition of an attribute set at node n.
func (w *walker) bindings(n *node, path []string, set *syntax.AttrSet, open *Type, tree string) {
	eachAttr(set.Bindings, func(a *syntax.Attr, names []string) {
		w.step(n, path, names, a.Value, a, open, tree)
	})
}

// eachAttr calls f with each binding name = value; of bs and its static
// names. Inherits and bindings with a computed name are skipped: there is
// nothing to check them against.
func eachAttr(bs []syntax.Binding, f func(a *syntax.Attr, names []string)) {
	for _, b := range bs {
		if a, ok := b.(*syntax.Attr); ok {
			if names, ok := syntax.StaticNames(a.Path); ok {
				f(a, names)
			}
		}
	}
}

// step descends from n by names[0].
func (w *walker) step(n *node, path, names []string, v syntax.Expr, at syntax.Node, open *Type, tree string) {
	var c *node
	if n != nil {
		c = n.child(names[0])
	}
	p := append(append([]string(nil), path...), names[0])
	if c == nil {
		if open != nil {
			w.typed(nil, open, p, names[1:], v, 100, at, tree)
			return
		}
		if n == nil {
			return // inside a value the manifest does not describe
		}
		detail := ""
		var cands []string
		for k := range n.children {
			if k != "<name>" && k != "*" {
				cands = append(cands, k)
			}
		}
		sort.Strings(cands)
		s := diag.Nearest(names[0], cands)
		if w.opts.TyposOnly {
			if s = likelyTypo(names[0], cands); s == "" {
				return // an option the manifest does not list
			}
		}
		if s != "" {
			detail = "did you mean " + JoinPath(append(append([]string(nil), path...), s)) + "?"
		}
		w.report(nameNode(at, len(path)), CodeUnknownOption, p, detail, "%s: no such option in %s", JoinPath(p), w.release(tree))
		return
	}
	w.at(c, p, names[1:], v, at, open, tree)
}

// nameNode returns the attribute name of a binding that a finding about
// its i-th component (counted from the start of the binding's own path)
// points at, or the binding.
func nameNode(at syntax.Node, _ int) syntax.Node {
	if a, ok := at.(*syntax.Attr); ok {
		return a.Path
	}
	return at
}

// useOption checks that an option from a flake comes from an input of
// the generated flake.
func (w *walker) useOption(o *Option, path []string, at syntax.Node) {
	if w.opts.Inputs == nil || o.From == "nixpkgs" || w.reported["source:"+o.From] {
		return
	}
	src := w.m.Sources[o.From]
	if src.Flake == "" || w.inputFor(src.Flake) != "" {
		return
	}
	if _, ok := w.opts.Inputs[o.From]; ok {
		return // an input of the source's name: a fork or a mirror
	}
	w.reported["source:"+o.From] = true
	label := o.From // as a CUE label
	if !cueIdent.MatchString(label) {
		label = strconv.Quote(label)
	}
	example := fmt.Sprintf("%s: url: %q", label, src.Flake)
	if len(src.Modules) > 0 {
		mod := src.Modules[0]
		for _, m := range src.Modules {
			if strings.HasSuffix(m, "."+o.From) {
				mod = m
			}
		}
		example = fmt.Sprintf("%s: {url: %q, nixosModules: %q: true}", label, src.Flake, mod)
	}
	w.report(nameNode(at, 0), CodeMissingInput, path, "add the input to settings.inputs, e.g. "+example,
		"%s: the option comes from %s (%s), which the generated flake has no input for", JoinPath(path), o.From, src.Flake)
}

// cueIdent matches the input names CUE takes as labels unquoted.
var cueIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// inputFor returns the name of the flake input whose url is flake (up
// to a branch or revision), or "".
func (w *walker) inputFor(flake string) string {
	for _, name := range slices.Sorted(maps.Keys(w.opts.Inputs)) {
		url := w.opts.Inputs[name]
		if url == flake || strings.HasPrefix(url, flake+"/") || strings.HasPrefix(url, flake+"?") {
			return name
		}
	}
	return ""
}

// attrsElem returns the type of one attribute of a freeform type.
func attrsElem(t *Type) *Type {
	switch t.Kind {
	case "attrsOf":
		return t.Of
	case "nullOr", "uniq":
		return attrsElem(t.Of)
	}
	return &Type{Kind: "anything"}
}

// admitsAttrs says whether values of t may be attribute sets.
func admitsAttrs(t *Type) bool {
	switch t.Kind {
	case "attrs", "attrsOf", "submodule", "module", "anything", "unspecified", "raw":
		return true
	case "nullOr", "uniq":
		return admitsAttrs(t.Of)
	case "either", "oneOf":
		for _, o := range t.OneOf {
			if admitsAttrs(o) {
				return true
			}
		}
	}
	return false
}

// typed checks the definition path+names = v against t, the type of the
// option at path, whose manifest node is n (nil when the manifest has no
// node for it, inside a value).
func (w *walker) typed(n *node, t *Type, path, names []string, v syntax.Expr, prio int, at syntax.Node, tree string) {
	if len(names) > 0 {
		// path.names = v defines part of an attribute set.
		switch t.Kind {
		case "submodule":
			var open *Type
			if t.Freeform != nil {
				open = attrsElem(t.Freeform)
			}
			if n == nil {
				return
			}
			w.step(n, path, names, v, at, open, tree)
		case "module":
			w.step(w.m.roots[t.Tree], path, names, v, at, nil, t.Tree)
		case "attrsOf":
			var c *node
			if n != nil {
				c = n.child(names[0])
			}
			w.typed(c, t.Of, append(append([]string(nil), path...), names[0]), names[1:], v, prio, at, tree)
		case "nullOr", "uniq":
			w.typed(n, t.Of, path, names, v, prio, at, tree)
		case "either", "oneOf":
			for _, o := range t.OneOf {
				if admitsAttrs(o) {
					w.typed(n, o, path, names, v, prio, at, tree)
					return
				}
			}
			w.report(nameNode(at, 0), CodeBadValue, path, "", "%s: an attribute set, but the option is %s", JoinPath(path), t)
		case "attrs", "anything", "unspecified", "raw":
			w.record(append(append([]string(nil), path...), names...), v, prio, at)
		default:
			w.report(nameNode(at, 0), CodeBadValue, path, "", "%s: an attribute set, but the option is %s", JoinPath(path), t)
		}
		return
	}
	v, p := unwrap(v)
	if p != 0 {
		prio = p
	}
	w.record(path, v, prio, at)
	l := classify(v)
	bad := func(why string) {
		w.report(v, CodeBadValue, path, why, "%s: %s is not a value of type %s", JoinPath(path), l.describe(), t)
	}
	switch t.Kind {
	case "submodule":
		switch x := v.(type) {
		case *syntax.AttrSet:
			var open *Type
			if t.Freeform != nil {
				open = attrsElem(t.Freeform)
			}
			if n != nil {
				w.bindings(n, path, x, open, tree)
			} else if open != nil {
				w.bindings(&node{}, path, x, open, tree)
			}
		default:
			if l.kind != litUnknown {
				bad("")
			}
		}
	case "module":
		switch x := v.(type) {
		case *syntax.AttrSet:
			w.bindings(w.m.roots[t.Tree], path, x, nil, t.Tree)
		case *syntax.Lambda:
			sub := &walker{m: w.m, f: w.f, opts: w.opts, tree: t.Tree, defs: map[string][]def{}, reported: w.reported}
			sub.module(x)
			w.diags = append(w.diags, sub.diags...)
		default:
			if l.kind != litUnknown && l.kind != litPath {
				bad("")
			}
		}
	case "listOf":
		x, ok := v.(*syntax.List)
		if !ok {
			if l.kind != litUnknown {
				bad("")
			}
			return
		}
		var c *node
		if n != nil {
			c = n.child("*")
		}
		for i, e := range x.Elems {
			w.typed(c, t.Of, append(append([]string(nil), path...), strconv.Itoa(i)), nil, e, prio, e, tree)
		}
	case "attrsOf":
		x, ok := v.(*syntax.AttrSet)
		if !ok {
			if l.kind != litUnknown {
				bad("")
			}
			return
		}
		eachAttr(x.Bindings, func(a *syntax.Attr, names []string) {
			var c *node
			if n != nil {
				c = n.child(names[0])
			}
			w.typed(c, t.Of, append(append([]string(nil), path...), names[0]), names[1:], a.Value, prio, a, tree)
		})
	case "nullOr":
		switch {
		case l.kind == litNull:
		case isLeaf(t.Of):
			// Name the whole type: "null or (signed integer)".
			if ok, why := w.accepts(t.Of, l); !ok {
				bad(why)
			}
		default:
			w.typed(n, t.Of, path, nil, v, prio, at, tree)
		}
	case "uniq":
		w.typed(n, t.Of, path, nil, v, prio, at, tree)
	case "either", "oneOf":
		for _, o := range t.OneOf {
			trial := &walker{m: w.m, f: w.f, opts: Options{Opaque: w.opts.Opaque}, tree: tree, defs: map[string][]def{}, reported: map[string]bool{}, dry: true}
			trial.typed(n, o, path, nil, v, prio, at, tree)
			if len(trial.diags) == 0 {
				w.typed(n, o, path, nil, v, prio, at, tree)
				return
			}
		}
		bad("")
	default:
		if ok, why := w.accepts(t, l); !ok {
			bad(why)
		}
	}
}

// isLeaf says whether t is checked as one value, with no parts.
func isLeaf(t *Type) bool {
	switch t.Kind {
	case "listOf", "attrsOf", "nullOr", "uniq", "either", "oneOf", "submodule", "module":
		return false
	}
	return true
}

// record notes a definition of a concrete path, for the conflict check.
func (w *walker) record(path []string, v syntax.Expr, prio int, at syntax.Node) {
	if w.dry {
		return
	}
	k := JoinPath(path)
	w.defs[k] = append(w.defs[k], def{v: v, prio: prio, at: at})
}

// unwrap removes the priority wrappers lib.mkForce, lib.mkDefault,
// lib.mkOverride N and lib.mkOptionDefault from a value and returns the
// value and its priority (0 when unwrapped).
func unwrap(e syntax.Expr) (syntax.Expr, int) {
	prio := 0
	for {
		e = syntax.Unparen(e)
		app, ok := e.(*syntax.Apply)
		if !ok {
			return e, prio
		}
		fn := syntax.Unparen(app.Fn)
		p := 0
		switch {
		case isRef(fn, "lib", "mkForce"):
			p = 50
		case isRef(fn, "lib", "mkDefault"):
			p = 1000
		case isRef(fn, "lib", "mkOptionDefault"):
			p = 1500
		default:
			inner, ok := fn.(*syntax.Apply)
			if !ok || !isRef(syntax.Unparen(inner.Fn), "lib", "mkOverride") {
				return e, prio
			}
			l := classify(syntax.Unparen(inner.Arg))
			if l.kind != litInt {
				return e, prio
			}
			p = int(l.i)
		}
		if prio == 0 {
			prio = p
		}
		e = app.Arg
	}
}

// isRef reports whether e is the selection x.names... without a default.
func isRef(e syntax.Expr, x string, names ...string) bool {
	s, ok := e.(*syntax.Select)
	if !ok || s.Or != nil {
		return false
	}
	id, ok := s.X.(*syntax.Ident)
	if !ok || id.Tok.Text != x {
		return false
	}
	got, ok := syntax.StaticNames(s.Path)
	if !ok || len(got) != len(names) {
		return false
	}
	for i := range got {
		if got[i] != names[i] {
			return false
		}
	}
	return true
}

// selectOf returns the head variable and the static names of a
// selection x.a.b, or false.
func selectOf(e syntax.Expr) (string, []string, bool) {
	head, names, all := selectPrefix(e)
	return head, names, all && head != ""
}

// selectPrefix returns the head variable of a selection x.a.${b}.c and
// the static names before the first computed one, and whether all names
// are static; head is "" when e is no selection of a variable.
func selectPrefix(e syntax.Expr) (string, []string, bool) {
	s, ok := e.(*syntax.Select)
	if !ok || s.Or != nil {
		return "", nil, false
	}
	id, ok := s.X.(*syntax.Ident)
	if !ok {
		return "", nil, false
	}
	var names []string
	for _, n := range s.Path.Names {
		switch n := n.(type) {
		case *syntax.Ident:
			names = append(names, n.Tok.Text)
		case *syntax.String:
			v, err := syntax.StringValue(n)
			if err != nil {
				return id.Tok.Text, names, false
			}
			names = append(names, v)
		default:
			return id.Tok.Text, names, false
		}
	}
	return id.Tok.Text, names, true
}

// references checks every pkgs.… and inputs.… selection of the file,
// each reported at the option path of the value it is in (list elements
// by decimal index).
func (w *walker) references(e syntax.Expr) {
	w.refs(e, nil)
}

// refs checks the references in e, a value at path.
func (w *walker) refs(e syntax.Expr, path []string) {
	switch x := e.(type) {
	case *syntax.Paren:
		w.refs(x.X, path)
	case *syntax.Lambda:
		w.refs(x.Body, path)
	case *syntax.Let:
		for _, b := range x.Bindings {
			w.refsIn(b, path)
		}
		w.refs(x.Body, path)
	case *syntax.Apply:
		w.refs(x.Fn, path)
		w.refs(x.Arg, path)
	case *syntax.AttrSet:
		for _, b := range x.Bindings {
			a, ok := b.(*syntax.Attr)
			if !ok {
				w.refsIn(b, path)
				continue
			}
			names, ok := syntax.StaticNames(a.Path)
			if !ok {
				w.refsIn(b, path)
				continue
			}
			if len(path) == 0 && names[0] == "imports" {
				w.refsIn(a.Value, names)
				continue
			}
			w.refs(a.Value, append(append([]string(nil), path...), names...))
		}
	case *syntax.List:
		for i, el := range x.Elems {
			w.refs(el, append(append([]string(nil), path...), strconv.Itoa(i)))
		}
	default:
		w.refsIn(e, path)
	}
}

// refsIn checks the references anywhere in n, all at path.
func (w *walker) refsIn(n syntax.Node, path []string) {
	syntax.Inspect(n, func(n syntax.Node) bool {
		s, ok := n.(*syntax.Select)
		return !ok || !w.ref(s, path)
	})
}

// ref checks the selection s at path, and reports whether it was a
// reference of pkgs or inputs (whose parts need no further look).
func (w *walker) ref(s *syntax.Select, path []string) bool {
	head, names, static := selectPrefix(s)
	if len(names) == 0 {
		return false
	}
	switch head {
	case "pkgs":
		if !static {
			return true // pkgs.${x}: nothing to look up
		}
		w.pkg(s, strings.Join(names, "."), path)
		return true
	case "inputs":
		if w.opts.Inputs != nil {
			if _, ok := w.opts.Inputs[names[0]]; !ok && names[0] != "self" {
				w.report(s, CodeMissingInput, path, "add it to settings.inputs", "inputs.%s: the generated flake has no input %s", names[0], names[0])
			}
		}
		return true
	}
	return false
}

// PackagesIn returns the pkgs attribute paths e refers to statically
// (pkgs.python3Packages.requests is "python3Packages.requests"), sorted,
// without duplicates.
func PackagesIn(e syntax.Node) []string {
	var out []string
	syntax.Inspect(e, func(n syntax.Node) bool {
		s, ok := n.(*syntax.Select)
		if !ok {
			return true
		}
		if head, names, static := selectPrefix(s); head == "pkgs" && static && len(names) > 0 {
			out = append(out, strings.Join(names, "."))
			return false
		}
		return true
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// pkg checks the package pkgs.<attr>, referred to at s, a value at path.
func (w *walker) pkg(s *syntax.Select, attr string, path []string) {
	nixpkgs := w.m.sourceName("nixpkgs", "nixpkgs")
	p := w.m.pkgs[attr]
	switch {
	case p == nil && w.m.Index != nil:
		w.reportAs(diag.Warning, s, CodeUnindexedPackage, path, "run fleetgen nixos sync to read it from the locked nixpkgs",
			"pkgs.%s: the option index does not know the package: the fleet did not use it when the index was read", attr)
	case p == nil || p.Missing:
		detail := ""
		if p != nil && p.Suggest != "" {
			detail = "did you mean pkgs." + p.Suggest + "?"
		} else if p == nil {
			if w.pkgNames == nil {
				w.pkgNames = make([]string, 0, len(w.m.Packages))
				for _, p := range w.m.Packages {
					w.pkgNames = append(w.pkgNames, p.Attr)
				}
			}
			sug := diag.Nearest(attr, w.pkgNames)
			if w.opts.TyposOnly {
				if sug = likelyTypo(attr, w.pkgNames); sug == "" {
					return // a package the manifest does not list
				}
			}
			if sug != "" {
				detail = "did you mean pkgs." + sug + "?"
			}
		}
		w.report(s, CodeUnknownPackage, path, detail, "pkgs.%s: no such package in %s", attr, nixpkgs)
	case p.Input != "" && !w.overlayFrom(p.Input):
		src := w.m.Sources[p.Input]
		w.report(s, CodeMissingInput, path,
			fmt.Sprintf("take it from a flake input of the fleet with url %s (inputs.<name>.packages.<system>.%s), or apply that input's overlay", src.Flake, attr),
			"pkgs.%s: not a package of %s; the flake %s provides it", attr, nixpkgs, src.Flake)
	}
}

// overlayFrom says whether the file applies an overlay of a flake input
// that is the source src (nixpkgs.overlays = [ inputs.<n>.overlays.… ]).
func (w *walker) overlayFrom(src string) bool {
	if w.opts.Inputs == nil {
		return false
	}
	name := w.inputFor(w.m.Sources[src].Flake)
	if name == "" {
		return false
	}
	for _, d := range w.defs["nixpkgs.overlays"] {
		l, ok := d.v.(*syntax.List)
		if !ok {
			continue
		}
		for _, e := range l.Elems {
			if head, names, ok := selectOf(syntax.Unparen(e)); ok && head == "inputs" && len(names) > 1 && names[0] == name && names[1] == "overlays" {
				return true
			}
		}
	}
	return false
}

// conflicts reports normal-priority definitions that contradict what a
// nixpkgs module defines at normal priority.
func (w *walker) conflicts() {
	for _, path := range slices.Sorted(maps.Keys(w.defs)) {
		for _, d := range w.m.defs[path] {
			if d.When != "" && !w.definedTrue(d.When) {
				continue
			}
			for _, got := range w.defs[path] {
				if got.prio != 100 {
					continue
				}
				l := classify(got.v)
				w.opts.Opaque.same(l, func(l literal) any { return l.equal(d.Value) })
				if l.kind == litUnknown || l.kind == litList || l.kind == litAttrs || (l.kind == litString && !l.strKnown) || l.equal(d.Value) {
					continue
				}
				want, _ := json.Marshal(d.Value)
				when := ""
				if d.When != "" {
					when = " when " + d.When + " is true"
				}
				names, _ := SplitPath(path)
				w.report(got.v, CodeConflict, names,
					"NixOS cannot merge two different definitions of one priority: write lib.mkForce on this one (saying why it must win) or leave the option to the module",
					"%s: conflicting definition values: %s here, %s in nixpkgs' %s%s", path, l.describe(), want, d.Declared, when)
			}
		}
	}
}

// definedTrue says whether the file defines path as true.
func (w *walker) definedTrue(path string) bool {
	for _, d := range w.defs[path] {
		if l := classify(d.v); l.kind == litBool && l.b {
			return true
		}
	}
	return false
}
