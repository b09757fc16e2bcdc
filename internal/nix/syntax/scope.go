package syntax

// Scope resolution: Nix 2.8 rejects a variable that no enclosing let,
// rec set, function or with can bind, and does so when it parses, so
// `nix-instantiate --parse` fails on it. The resolver below reports the
// same errors.

// globals are the names Nix 2.8 binds in every file: the builtins it
// exposes without the builtins. prefix, and the __-prefixed primops.
// Read off Nix 2.8 (nix-instantiate --parse of each name); the set of
// primops also depends on the experimental features enabled.
var globals = map[string]bool{
	// __curPos is the position of the expression itself (the parser
	// turns it into one).
	"__curPos": true,
	"__add":    true, "__addErrorContext": true, "__all": true, "__any": true,
	"__appendContext": true, "__attrNames": true, "__attrValues": true,
	"__bitAnd": true, "__bitOr": true, "__bitXor": true, "__catAttrs": true,
	"__ceil": true, "__compareVersions": true, "__concatLists": true,
	"__concatMap": true, "__concatStringsSep": true, "__currentSystem": true,
	"__currentTime": true, "__deepSeq": true, "__div": true, "__elem": true,
	"__elemAt": true, "__fetchurl": true, "__filter": true,
	"__filterSource": true, "__findFile": true, "__floor": true,
	"__foldl'": true, "__fromJSON": true, "__functionArgs": true,
	"__genList": true, "__genericClosure": true, "__getAttr": true,
	"__getContext": true, "__getEnv": true, "__groupBy": true,
	"__hasAttr": true, "__hasContext": true, "__hashFile": true,
	"__hashString": true, "__head": true, "__intersectAttrs": true,
	"__isAttrs": true, "__isBool": true, "__isFloat": true,
	"__isFunction": true, "__isInt": true, "__isList": true, "__isPath": true,
	"__isString": true, "__langVersion": true, "__length": true,
	"__lessThan": true, "__listToAttrs": true, "__mapAttrs": true,
	"__match": true, "__mul": true, "__nixPath": true, "__nixVersion": true,
	"__parseDrvName": true, "__partition": true, "__path": true,
	"__pathExists": true, "__readDir": true, "__readFile": true,
	"__replaceStrings": true, "__seq": true, "__sort": true, "__split": true,
	"__splitVersion": true, "__storeDir": true, "__storePath": true,
	"__stringLength": true, "__sub": true, "__substring": true,
	"__tail": true, "__toFile": true, "__toJSON": true, "__toPath": true,
	"__toXML": true, "__trace": true, "__tryEval": true, "__typeOf": true,
	"__unsafeDiscardOutputDependency": true,
	"__unsafeDiscardStringContext":    true, "__unsafeGetAttrPos": true,
	"__zipAttrsWith": true, "abort": true, "baseNameOf": true,
	"builtins": true, "derivation": true, "derivationStrict": true,
	"dirOf": true, "false": true, "fetchGit": true, "fetchMercurial": true,
	"fetchTarball": true, "fetchTree": true, "fromTOML": true, "import": true,
	"isNull": true, "map": true, "null": true, "placeholder": true,
	"removeAttrs": true, "scopedImport": true, "throw": true,
	"toString": true, "true": true,
}

// IsGlobal reports whether name is bound in every file before any let,
// function or with: a builtin Nix 2.8 exposes without the builtins.
// prefix, or a primop under its __ name. The lint rules share this table
// with the parser so that both agree on what is undefined.
func IsGlobal(name string) bool { return globals[name] }

// A scope is one level of variable bindings. A scope opened by with binds
// every name, dynamically.
type scope struct {
	names  map[string]bool
	with   bool
	parent *scope
}

func (s *scope) bound(name string) bool {
	for ; s != nil; s = s.parent {
		if s.with || s.names[name] {
			return true
		}
	}
	return globals[name]
}

func (s *scope) child(names map[string]bool) *scope {
	return &scope{names: names, parent: s}
}

// resolver reports variables no scope binds.
type resolver struct {
	errorf func(n Node, format string, args ...any)
}

// checkScopes reports every undefined variable in f, taking the names in
// bound as defined around the whole file.
func checkScopes(f *File, bound map[string]bool, errorf func(n Node, format string, args ...any)) {
	r := &resolver{errorf: errorf}
	var s *scope
	if len(bound) > 0 {
		s = &scope{names: bound}
	}
	r.expr(f.Expr, s)
}

func (r *resolver) expr(e Expr, s *scope) {
	switch e := e.(type) {
	case nil:
	case *Ident:
		if !s.bound(e.Tok.Text) {
			r.errorf(e, "undefined variable `%s`", e.Tok.Text)
		}
	case *Paren:
		r.expr(e.X, s)
	case *String:
		r.parts(e.Parts, s)
	case *PathExpr:
		r.parts(e.Parts, s)
	case *List:
		for _, x := range e.Elems {
			r.expr(x, s)
		}
	case *AttrSet:
		if e.Rec != nil {
			r.bindings(e.Bindings, s, s.child(boundNames(e.Bindings)))
		} else {
			r.bindings(e.Bindings, s, s)
		}
	case *LegacyLet:
		r.bindings(e.Bindings, s, s.child(boundNames(e.Bindings)))
	case *Let:
		inner := s.child(boundNames(e.Bindings))
		r.bindings(e.Bindings, s, inner)
		r.expr(e.Body, inner)
	case *Select:
		r.expr(e.X, s)
		r.path(e.Path, s)
		r.expr(e.Default, s)
	case *HasAttr:
		r.expr(e.X, s)
		r.path(e.Path, s)
	case *Apply:
		r.expr(e.Fn, s)
		r.expr(e.Arg, s)
	case *Unary:
		r.expr(e.X, s)
	case *Binary:
		r.expr(e.X, s)
		r.expr(e.Y, s)
	case *If:
		r.expr(e.Cond, s)
		r.expr(e.Then, s)
		r.expr(e.Else, s)
	case *Assert:
		r.expr(e.Cond, s)
		r.expr(e.Body, s)
	case *With:
		r.expr(e.X, s)
		r.expr(e.Body, &scope{with: true, parent: s})
	case *Lambda:
		names := map[string]bool{}
		if e.Param != nil {
			names[e.Param.Tok.Text] = true
		}
		if e.Formals != nil {
			for _, f := range e.Formals.Items {
				if f.Name != nil {
					names[f.Name.Tok.Text] = true
				}
			}
		}
		inner := s.child(names)
		if e.Formals != nil {
			for _, f := range e.Formals.Items {
				r.expr(f.Default, inner)
			}
		}
		r.expr(e.Body, inner)
	default:
		// Literals (Int, Float, URI, SearchPath) bind and use nothing; a
		// Bad node has been reported already.
	}
}

func (r *resolver) parts(ps []StringPart, s *scope) {
	for _, p := range ps {
		if in, ok := p.(*Interpolation); ok {
			r.expr(in.X, s)
		}
	}
}

// path checks the dynamic names of an attribute path.
func (r *resolver) path(p *AttrPath, s *scope) {
	if p == nil {
		return
	}
	for _, n := range p.Names {
		r.name(n, s)
	}
}

func (r *resolver) name(n AttrName, s *scope) {
	switch n := n.(type) {
	case *String:
		r.parts(n.Parts, s)
	case *Interpolation:
		r.expr(n.X, s)
	}
}

// bindings checks the bindings of a set or let. Values and dynamic names
// are resolved in inner (the set's own scope for rec and let); a plain
// inherit takes its names from outer, the scope around the set.
func (r *resolver) bindings(bs []Binding, outer, inner *scope) {
	for _, b := range bs {
		switch b := b.(type) {
		case *Attr:
			r.path(b.Path, inner)
			r.expr(b.Value, inner)
		case *Inherit:
			if b.From != nil {
				r.expr(b.From, inner)
				for _, n := range b.Names {
					r.name(n, inner)
				}
				continue
			}
			for _, n := range b.Names {
				if id, ok := n.(*Ident); ok && !outer.bound(id.Tok.Text) {
					r.errorf(id, "undefined variable `%s`", id.Tok.Text)
				}
				r.name(n, outer)
			}
		}
	}
}

// boundNames returns the names a rec set, let or legacy let binds: the
// first static name of each attribute path, and every inherited name.
func boundNames(bs []Binding) map[string]bool {
	names := map[string]bool{}
	for _, b := range bs {
		switch b := b.(type) {
		case *Attr:
			if b.Path != nil && len(b.Path.Names) > 0 {
				if n, ok := staticName(b.Path.Names[0]); ok {
					names[n] = true
				}
			}
		case *Inherit:
			for _, n := range b.Names {
				if s, ok := staticName(n); ok {
					names[s] = true
				}
			}
		}
	}
	return names
}

// staticName returns the name n stands for when it is not dynamic.
func staticName(n AttrName) (string, bool) {
	switch n := n.(type) {
	case *Ident:
		return n.Tok.Text, true
	case *String:
		return staticString(n)
	case *Interpolation:
		if s, ok := unparen(n.X).(*String); ok {
			return staticString(s)
		}
	}
	return "", false
}
