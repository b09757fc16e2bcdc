package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A def is one option definition of a NixOS module, found statically:
// the full option path and the expression assigned to it.
type def struct {
	path  []string
	value syntax.Expr // with mkIf, mkMerge, mkForce, mkDefault unwrapped
	attr  *syntax.Attr
}

func (d def) is(path string) bool { return strings.Join(d.path, ".") == path }

// moduleSet returns the attribute set a module file evaluates to, looking
// through its function header, let and with, or nil.
func moduleSet(f *syntax.File) *syntax.AttrSet {
	x := fileBody(f)
	for {
		switch y := x.(type) {
		case *syntax.Let:
			x = y.Body
		case *syntax.With:
			x = y.Body
		case *syntax.Paren:
			x = y.X
		case *syntax.AttrSet:
			return y
		default:
			return nil
		}
	}
}

// moduleLambda returns the function a module file is, if it takes formals.
func moduleLambda(f *syntax.File) *syntax.Lambda {
	l, _ := f.Expr.(*syntax.Lambda)
	if l != nil && l.Formals != nil {
		return l
	}
	return nil
}

// configDefs returns every option definition of the module in f, in
// source order. A module with config = or options = has its definitions
// under config; a module without them is all definitions.
func configDefs(f *syntax.File) []def {
	s := moduleSet(f)
	if s == nil {
		return nil
	}
	var out []def
	structured := false
	for _, b := range s.Bindings {
		if a, ok := b.(*syntax.Attr); ok && a.Path != nil && len(a.Path.Names) > 0 {
			if n, _ := staticName(a.Path.Names[0]); n == "config" || n == "options" {
				structured = true
			}
		}
	}
	skip := setOf("imports options meta disabledModules _file key freeformType")
	for _, b := range s.Bindings {
		a, ok := b.(*syntax.Attr)
		if !ok || a.Path == nil {
			continue
		}
		path, ok := staticPath(a.Path)
		if !ok || len(path) == 0 {
			continue
		}
		if structured {
			if path[0] != "config" {
				continue
			}
			path = path[1:]
		} else if skip[path[0]] {
			continue
		}
		flatten(&out, path, a, a.Value)
	}
	return out
}

func staticPath(p *syntax.AttrPath) ([]string, bool) {
	out := make([]string, 0, len(p.Names))
	for _, n := range p.Names {
		s, ok := staticName(n)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// unwrapDef strips mkIf c, mkForce, mkDefault, mkOverride n and
// parentheses from a definition.
func unwrapDef(x syntax.Expr) syntax.Expr {
	for {
		x = syntax.Unparen(x)
		fn, args := call(x)
		switch {
		case len(args) == 2 && (isLibFn(fn, "mkIf") || isLibFn(fn, "mkOverride")):
			x = args[1]
		case len(args) == 1 && (isLibFn(fn, "mkForce") || isLibFn(fn, "mkDefault")):
			x = args[0]
		default:
			return x
		}
	}
}

// maxDefDepth bounds the option paths flatten records. The rules look at
// paths of at most five names; the bound keeps a set nested thousands
// deep from costing the square of its depth in paths.
const maxDefDepth = 32

func flatten(out *[]def, path []string, a *syntax.Attr, x syntax.Expr) {
	if len(path) > maxDefDepth {
		return
	}
	x = unwrapDef(x)
	if len(path) > 0 {
		*out = append(*out, def{path: path, value: x, attr: a})
	}
	if fn, args := call(x); len(args) == 1 && isLibFn(fn, "mkMerge") {
		if l, ok := syntax.Unparen(args[0]).(*syntax.List); ok {
			for _, e := range l.Elems {
				flatten(out, path, a, e)
			}
		}
		return
	}
	s, ok := x.(*syntax.AttrSet)
	if !ok {
		return
	}
	for _, b := range s.Bindings {
		inner, ok := b.(*syntax.Attr)
		if !ok || inner.Path == nil {
			continue
		}
		sub, ok := staticPath(inner.Path)
		if !ok {
			continue
		}
		flatten(out, append(append([]string(nil), path...), sub...), inner, inner.Value)
	}
}
