package rules

import (
	"sort"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// Scope resolves every variable of a file to the binding it names, in the
// manner Nix binds names: let, rec and legacy let bind recursively; a
// plain inherit reads the enclosing scope while inherit (e) evaluates e in
// the set's own scope; lambda parameters and formals are visible in the
// body and in formal defaults; the builtins are bound outside everything,
// so they win over with; and a name bound nowhere comes from the innermost
// with around it, if any.
var Scope = &lint.Rule{
	ID:   "NS300",
	Name: "scope",
	Doc: `resolve the variables of a file for the other rules

Scope reports nothing. Its result, a *Resolution, maps every variable to
the let, rec, lambda, formal or builtin binding it names, or to the with
that supplies it, and lists the uses of every binding. Rules use it to find
dead code and undefined names, and fixes use it to prove that a name is not
shadowed before they rewrite code.`,
	Run: func(p *lint.Pass) error {
		p.Result = ResolveIn(p.File, p.Bound...)
		return nil
	},
}

// A BindKind says what introduced a binding.
type BindKind int

// The binding kinds.
const (
	LetBinding       BindKind = iota // let a = …; in
	RecBinding                       // rec { a = …; }
	LegacyLetBinding                 // let { a = …; body = …; }
	ParamBinding                     // a: … or a@{ … }: …
	FormalBinding                    // { a, … }: …
	BuiltinBinding                   // true, map, builtins, …
	OuterBinding                     // bound around the file (lint.File.Bound)
)

// A Binding is one name bound by a let, a recursive set, a lambda or the
// builtins.
type Binding struct {
	Name string
	Kind BindKind
	// Owner is the *syntax.Let, *syntax.AttrSet, *syntax.LegacyLet or
	// *syntax.Lambda that binds the name; nil for builtins.
	Owner syntax.Node
	// Attrs are the bindings `name… = …;` that define it (several for
	// `a.x = …; a.y = …;`).
	Attrs []*syntax.Attr
	// Inherit is the inherit that defines it, and Name its name there.
	Inherit   *syntax.Inherit
	InheritAt syntax.AttrName
	// Ident is the parameter or formal name.
	Ident *syntax.Ident
	// Formal is the formal that defines it.
	Formal *syntax.Formal
	// Uses are the variables (and plain-inherit names) that name it.
	Uses []*syntax.Ident

	// shadows is the lexical binding of the same name around the scope
	// that binds this one, if any.
	shadows *Binding
}

// A Resolution is the result of Scope over one file.
type Resolution struct {
	// Refs maps each variable bound lexically or by the builtins to its
	// binding.
	Refs map[*syntax.Ident]*Binding
	// ViaWith maps each variable bound by no enclosing scope to the
	// innermost with around it.
	ViaWith map[*syntax.Ident]*syntax.With
	// Undefined lists variables bound nowhere, with no with around them.
	Undefined []*syntax.Ident
	// Bindings are the file's own bindings in source order.
	Bindings []*Binding
	// Withs are the file's with expressions in source order.
	Withs []*syntax.With

	envOf    map[*syntax.Ident]*env
	builtins map[string]*Binding

	// viaWith are the keys of ViaWith in source order, for UsesOf.
	viaWith []*syntax.Ident
	// nestedWith holds the withs inside another with (in its body or
	// its expression).
	nestedWith map[*syntax.With]bool
	// owned are the bindings by the node that binds them, built on
	// first use.
	owned map[syntax.Node][]*Binding
	// During the walk: the bindings in scope by name, innermost last,
	// and the withs around the current expression, innermost last.
	inScope   map[string][]*Binding
	withs     []*syntax.With
	withDepth int
}

// Nested reports whether the with w is inside another with.
func (r *Resolution) Nested(w *syntax.With) bool { return r.nestedWith[w] }

// BindingsOf returns the bindings the let, rec set, legacy let or lambda
// owner binds, in source order.
func (r *Resolution) BindingsOf(owner syntax.Node) []*Binding {
	if r.owned == nil {
		r.owned = map[syntax.Node][]*Binding{}
		for _, b := range r.Bindings {
			r.owned[b.Owner] = append(r.owned[b.Owner], b)
		}
	}
	return r.owned[owner]
}

// UsesOf returns the variables the with w may supply: those in its body
// that no lexical scope or builtin binds, in source order.
func (r *Resolution) UsesOf(w *syntax.With) []*syntax.Ident {
	if w.Body == nil {
		return nil
	}
	start, end := w.Body.Pos(), w.Body.End()
	i := sort.Search(len(r.viaWith), func(i int) bool { return r.viaWith[i].Pos() >= start })
	j := sort.Search(len(r.viaWith), func(i int) bool { return r.viaWith[i].Pos() >= end })
	return r.viaWith[i:j]
}

// Lookup returns what name would denote if written where the variable at
// is: a binding, or nil with the innermost with that would supply it, or
// nil and nil when it would be undefined. at must be a variable of the
// file (a key of Refs, ViaWith or Undefined).
func (r *Resolution) Lookup(at *syntax.Ident, name string) (*Binding, *syntax.With) {
	e := r.envOf[at]
	return r.lookup(e, name)
}

// Shadowed reports whether the builtin name is rebound where at is, either
// lexically or, since builtins win over with, not at all.
func (r *Resolution) Shadowed(at *syntax.Ident, name string) bool {
	b, _ := r.Lookup(at, name)
	return b == nil || b.Kind != BuiltinBinding
}

// An env is one scope, kept after the walk for Lookup.
type env struct {
	parent *env
	names  map[string]*Binding
	with   *syntax.With
	// found caches what Lookup found for a name from this scope.
	found map[string]found
}

type found struct {
	b    *Binding
	with *syntax.With
}

// lookup returns what name denotes in scope e: a lexical binding, else a
// builtin, else the innermost with, else nothing. Each scope remembers
// its answers, so that asking again from it or from a scope inside it
// costs no walk.
func (r *Resolution) lookup(e *env, name string) (*Binding, *syntax.With) {
	var path []*env
	var res found
	for x := e; ; x = x.parent {
		if x == nil {
			res = found{b: r.builtin(name)}
			break
		}
		if f, ok := x.found[name]; ok {
			res = f
			break
		}
		if b := x.names[name]; b != nil {
			res = found{b: b}
			break
		}
		path = append(path, x)
	}
	// Unwind: a with on the way supplies the name when nothing outside
	// binds it.
	for i := len(path) - 1; i >= 0; i-- {
		x := path[i]
		if x.with != nil && res.b == nil {
			res.with = x.with
		}
		if x.found == nil {
			x.found = map[string]found{}
		}
		x.found[name] = res
	}
	return res.b, res.with
}

// builtin returns the binding of a builtin name, or nil.
func (r *Resolution) builtin(name string) *Binding {
	if !isGlobal(name) {
		return nil
	}
	b := r.builtins[name]
	if b == nil {
		b = &Binding{Name: name, Kind: BuiltinBinding}
		r.builtins[name] = b
	}
	return b
}

// ResolveIn computes the Resolution of f placed where the names bound
// are defined. Their bindings have Kind OuterBinding and are not among
// the file's own Bindings.
func ResolveIn(f *syntax.File, bound ...string) *Resolution {
	r := &Resolution{
		Refs:     map[*syntax.Ident]*Binding{},
		ViaWith:  map[*syntax.Ident]*syntax.With{},
		envOf:    map[*syntax.Ident]*env{},
		builtins: map[string]*Binding{},
		inScope:  map[string][]*Binding{},

		nestedWith: map[*syntax.With]bool{},
	}
	var root *env
	if len(bound) > 0 {
		root = &env{names: map[string]*Binding{}}
		for _, n := range bound {
			root.names[n] = &Binding{Name: n, Kind: OuterBinding}
		}
		r.enter(root)
	}
	r.expr(f.Expr, root)
	r.inScope, r.withs = nil, nil
	sort.SliceStable(r.viaWith, func(i, j int) bool { return r.viaWith[i].Pos() < r.viaWith[j].Pos() })
	return r
}

// enter and exit open and close the scope e during the walk.
func (r *Resolution) enter(e *env) {
	if e.with != nil {
		r.withs = append(r.withs, e.with)
		return
	}
	for name, b := range e.names {
		stack := r.inScope[name]
		if len(stack) > 0 {
			b.shadows = stack[len(stack)-1]
		}
		r.inScope[name] = append(stack, b)
	}
}

func (r *Resolution) exit(e *env) {
	if e.with != nil {
		r.withs = r.withs[:len(r.withs)-1]
		return
	}
	for name := range e.names {
		stack := r.inScope[name]
		r.inScope[name] = stack[:len(stack)-1]
	}
}

// current returns what name denotes during the walk, with outer set when
// the name is looked up around the scope e that is being entered (a
// plain inherit of a let or rec).
func (r *Resolution) current(name string, skip *env) (*Binding, *syntax.With) {
	stack := r.inScope[name]
	if n := len(stack); n > 0 {
		b := stack[n-1]
		if skip == nil || skip.names[name] != b {
			return b, nil
		}
		if n > 1 {
			return stack[n-2], nil
		}
	}
	if b := r.builtin(name); b != nil {
		return b, nil
	}
	if n := len(r.withs); n > 0 {
		return nil, r.withs[n-1]
	}
	return nil, nil
}

// ref resolves the variable id in scope e, which is the current scope
// of the walk unless skip is set: then e is the scope around skip.
func (r *Resolution) ref(id *syntax.Ident, e, skip *env) {
	if id == nil || id.Tok == nil {
		return
	}
	r.envOf[id] = e
	b, with := r.current(id.Tok.Text, skip)
	switch {
	case b != nil:
		r.Refs[id] = b
		b.Uses = append(b.Uses, id)
	case with != nil:
		r.ViaWith[id] = with
		r.viaWith = append(r.viaWith, id)
	default:
		r.Undefined = append(r.Undefined, id)
	}
}

// staticName returns the name of a static attribute name.
func staticName(n syntax.AttrName) (string, bool) {
	switch n := n.(type) {
	case *syntax.Ident:
		return n.Tok.Text, true
	case *syntax.String:
		for _, p := range n.Parts {
			if _, ok := p.(*syntax.Interpolation); ok {
				return "", false
			}
		}
		s, err := syntax.StringValue(n)
		return s, err == nil
	}
	return "", false
}

// declare adds the names bindings introduce to a new scope.
func (r *Resolution) declare(owner syntax.Node, kind BindKind, bindings []syntax.Binding, parent *env) *env {
	e := &env{parent: parent, names: map[string]*Binding{}}
	add := func(name string) *Binding {
		b := e.names[name]
		if b == nil {
			b = &Binding{Name: name, Kind: kind, Owner: owner}
			e.names[name] = b
			r.Bindings = append(r.Bindings, b)
		}
		return b
	}
	for _, bd := range bindings {
		switch bd := bd.(type) {
		case *syntax.Attr:
			if bd.Path == nil || len(bd.Path.Names) == 0 {
				continue
			}
			if name, ok := staticName(bd.Path.Names[0]); ok {
				b := add(name)
				b.Attrs = append(b.Attrs, bd)
			}
		case *syntax.Inherit:
			for _, n := range bd.Names {
				if name, ok := staticName(n); ok {
					b := add(name)
					if b.Inherit == nil {
						b.Inherit, b.InheritAt = bd, n
					}
				}
			}
		}
	}
	return e
}

// bindings resolves the right-hand sides of bindings: values and dynamic
// names in inner, plain inherits in outer.
func (r *Resolution) bindings(bs []syntax.Binding, inner, outer *env) {
	var skip *env
	if inner != outer {
		skip = inner
	}
	for _, bd := range bs {
		switch bd := bd.(type) {
		case *syntax.Attr:
			if bd.Path != nil {
				r.path(bd.Path, inner)
			}
			r.expr(bd.Value, inner)
		case *syntax.Inherit:
			if bd.From != nil {
				r.expr(bd.From.X, inner)
				continue
			}
			for _, n := range bd.Names {
				if id, ok := n.(*syntax.Ident); ok {
					r.ref(id, outer, skip)
				}
			}
		case *syntax.Bad:
			r.bad(bd, inner)
		}
	}
}

func (r *Resolution) path(p *syntax.AttrPath, e *env) {
	for _, n := range p.Names {
		switch n := n.(type) {
		case *syntax.Interpolation:
			r.expr(n.X, e)
		case *syntax.String:
			r.parts(n.Parts, e)
		case *syntax.Bad:
			r.bad(n, e)
		}
	}
}

func (r *Resolution) parts(ps []syntax.StringPart, e *env) {
	for _, p := range ps {
		if in, ok := p.(*syntax.Interpolation); ok {
			r.expr(in.X, e)
		}
	}
}

func (r *Resolution) bad(b *syntax.Bad, e *env) {
	for _, el := range b.Elems {
		if x, ok := el.(syntax.Expr); ok {
			r.expr(x, e)
		}
	}
}

func (r *Resolution) expr(x syntax.Expr, e *env) {
	switch x := x.(type) {
	case nil:
	case *syntax.Ident:
		if x == nil {
			return
		}
		r.ref(x, e, nil)
	case *syntax.String:
		if x != nil {
			r.parts(x.Parts, e)
		}
	case *syntax.PathExpr:
		r.parts(x.Parts, e)
	case *syntax.Paren:
		if x != nil {
			r.expr(x.X, e)
		}
	case *syntax.List:
		for _, el := range x.Elems {
			r.expr(el, e)
		}
	case *syntax.AttrSet:
		if x.Rec == nil {
			r.bindings(x.Bindings, e, e)
			return
		}
		inner := r.declare(x, RecBinding, x.Bindings, e)
		r.enter(inner)
		r.bindings(x.Bindings, inner, e)
		r.exit(inner)
	case *syntax.LegacyLet:
		inner := r.declare(x, LegacyLetBinding, x.Bindings, e)
		r.enter(inner)
		r.bindings(x.Bindings, inner, e)
		r.exit(inner)
	case *syntax.Let:
		inner := r.declare(x, LetBinding, x.Bindings, e)
		r.enter(inner)
		r.bindings(x.Bindings, inner, e)
		r.expr(x.Body, inner)
		r.exit(inner)
	case *syntax.Select:
		r.expr(x.X, e)
		if x.Path != nil {
			r.path(x.Path, e)
		}
		r.expr(x.Default, e)
	case *syntax.HasAttr:
		r.expr(x.X, e)
		if x.Path != nil {
			r.path(x.Path, e)
		}
	case *syntax.Apply:
		r.expr(x.Fn, e)
		r.expr(x.Arg, e)
	case *syntax.Unary:
		r.expr(x.X, e)
	case *syntax.Binary:
		r.expr(x.X, e)
		r.expr(x.Y, e)
	case *syntax.If:
		r.expr(x.Cond, e)
		r.expr(x.Then, e)
		r.expr(x.Else, e)
	case *syntax.Assert:
		r.expr(x.Cond, e)
		r.expr(x.Body, e)
	case *syntax.With:
		r.Withs = append(r.Withs, x)
		if r.withDepth > 0 {
			r.nestedWith[x] = true
		}
		r.withDepth++
		r.expr(x.X, e)
		inner := &env{parent: e, with: x}
		r.enter(inner)
		r.expr(x.Body, inner)
		r.exit(inner)
		r.withDepth--
	case *syntax.Lambda:
		inner := &env{parent: e, names: map[string]*Binding{}}
		if x.Param != nil && x.Param.Tok != nil {
			b := &Binding{Name: x.Param.Tok.Text, Kind: ParamBinding, Owner: x, Ident: x.Param}
			inner.names[b.Name] = b
			r.Bindings = append(r.Bindings, b)
		}
		if x.Formals != nil {
			for _, f := range x.Formals.Items {
				if f.Name == nil || f.Name.Tok == nil {
					continue
				}
				b := &Binding{Name: f.Name.Tok.Text, Kind: FormalBinding, Owner: x, Ident: f.Name, Formal: f}
				if inner.names[b.Name] == nil {
					inner.names[b.Name] = b
				}
				r.Bindings = append(r.Bindings, b)
			}
		}
		r.enter(inner)
		if x.Formals != nil {
			for _, f := range x.Formals.Items {
				r.expr(f.Default, inner)
			}
		}
		r.expr(x.Body, inner)
		r.exit(inner)
	case *syntax.Bad:
		if x != nil {
			r.bad(x, e)
		}
	}
}

// isVariable reports whether id is a variable (or a plain inherit's name)
// rather than an attribute name.
func (r *Resolution) isVariable(id *syntax.Ident) bool {
	_, ok := r.envOf[id]
	return ok
}

// BindingOf returns the binding a variable names, if it is bound lexically
// or by the builtins.
func (r *Resolution) BindingOf(id *syntax.Ident) *Binding { return r.Refs[id] }

// resolution returns the Scope result of a pass that requires Scope.
func resolution(p *lint.Pass) *Resolution { return p.ResultOf[Scope].(*Resolution) }
