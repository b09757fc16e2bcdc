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

// resolver reports variables no scope binds. It keeps, for every name,
// how many of the scopes around the current expression bind it, and how
// many withs are around it, so that each lookup costs the same however
// deeply scopes nest.
type resolver struct {
	errorf func(n Node, format string, args ...any)
	bound  map[string]int
	withs  int
}

func (r *resolver) isBound(name string) bool {
	return r.withs > 0 || r.bound[name] > 0 || globals[name]
}

func (r *resolver) push(names map[string]bool) {
	for n := range names {
		r.bound[n]++
	}
}

func (r *resolver) pop(names map[string]bool) {
	for n := range names {
		r.bound[n]--
	}
}

// checkScopes reports every undefined variable in f, taking the names in
// bound as defined around the whole file.
func checkScopes(f *File, bound map[string]bool, errorf func(n Node, format string, args ...any)) {
	r := &resolver{errorf: errorf, bound: map[string]int{}}
	r.push(bound)
	r.expr(f.Expr)
}

func (r *resolver) ref(id *Ident) {
	if !r.isBound(id.Tok.Text) {
		r.errorf(id, "undefined variable `%s`", id.Tok.Text)
	}
}

func (r *resolver) expr(e Expr) {
	switch e := e.(type) {
	case nil:
	case *Ident:
		r.ref(e)
	case *Paren:
		r.expr(e.X)
	case *String:
		r.parts(e.Parts)
	case *PathExpr:
		r.parts(e.Parts)
	case *List:
		for _, x := range e.Elems {
			r.expr(x)
		}
	case *AttrSet:
		if e.Rec != nil {
			names := boundNames(e.Bindings)
			r.push(names)
			r.bindings(e.Bindings, names)
			r.pop(names)
		} else {
			r.bindings(e.Bindings, nil)
		}
	case *LegacyLet:
		names := boundNames(e.Bindings)
		r.push(names)
		r.bindings(e.Bindings, names)
		r.pop(names)
	case *Let:
		names := boundNames(e.Bindings)
		r.push(names)
		r.bindings(e.Bindings, names)
		r.expr(e.Body)
		r.pop(names)
	case *Select:
		r.expr(e.X)
		r.path(e.Path)
		r.expr(e.Default)
	case *HasAttr:
		r.expr(e.X)
		r.path(e.Path)
	case *Apply:
		r.expr(e.Fn)
		r.expr(e.Arg)
	case *Unary:
		r.expr(e.X)
	case *Binary:
		r.expr(e.X)
		r.expr(e.Y)
	case *If:
		r.expr(e.Cond)
		r.expr(e.Then)
		r.expr(e.Else)
	case *Assert:
		r.expr(e.Cond)
		r.expr(e.Body)
	case *With:
		r.expr(e.X)
		r.withs++
		r.expr(e.Body)
		r.withs--
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
		r.push(names)
		if e.Formals != nil {
			for _, f := range e.Formals.Items {
				r.expr(f.Default)
			}
		}
		r.expr(e.Body)
		r.pop(names)
	default:
		// Literals (Int, Float, URI, SearchPath) bind and use nothing; a
		// Bad node has been reported already.
	}
}

func (r *resolver) parts(ps []StringPart) {
	for _, p := range ps {
		if in, ok := p.(*Interpolation); ok {
			r.expr(in.X)
		}
	}
}

// path checks the dynamic names of an attribute path.
func (r *resolver) path(p *AttrPath) {
	if p == nil {
		return
	}
	for _, n := range p.Names {
		r.name(n)
	}
}

func (r *resolver) name(n AttrName) {
	switch n := n.(type) {
	case *String:
		r.parts(n.Parts)
	case *Interpolation:
		r.expr(n.X)
	}
}

// bindings checks the bindings of a set or let. Values and dynamic names
// are resolved in the set's own scope (own holds the names a rec set or
// let binds, already counted); a plain inherit takes its names from the
// scope around the set.
func (r *resolver) bindings(bs []Binding, own map[string]bool) {
	for _, b := range bs {
		switch b := b.(type) {
		case *Attr:
			r.path(b.Path)
			r.expr(b.Value)
		case *Inherit:
			if b.From != nil {
				r.expr(b.From)
				for _, n := range b.Names {
					r.name(n)
				}
				continue
			}
			for _, n := range b.Names {
				if id, ok := n.(*Ident); ok {
					name := id.Tok.Text
					outer := r.bound[name]
					if own[name] {
						outer--
					}
					if outer <= 0 && r.withs == 0 && !globals[name] {
						r.errorf(id, "undefined variable `%s`", name)
					}
				}
				r.name(n)
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
		if s, ok := Unparen(n.X).(*String); ok {
			return staticString(s)
		}
	}
	return "", false
}
