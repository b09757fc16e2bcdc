package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// RedundantPatternBind reports args@{ ... }: e.
var RedundantPatternBind = &lint.Rule{
	ID:       "NL215",
	Name:     "redundant-pattern-bind",
	Severity: diag.Info,
	Requires: []*lint.Rule{Scope},
	Doc: `report args@{ ... }: e, a pattern that names no argument

The empty pattern adds one thing to args: e: a check that the argument is
an attribute set. The fix drops it, guarded so that the check cannot
matter: the body must fail on a non-set argument anyway, first thing and
with the same kind of error, because it is args.name (no "or" default) or
args // x, possibly under let or with, or the left operand of an operator
that evaluates its left side first (+, -, *, /, ++, //, ==, !=, &&, ||,
->). An assert or a throw that ran
first would not do: builtins.tryEval catches those, but not the type
error the pattern raises. Elsewhere the fix is only suggested. When args
is unused the finding is NS304's.`,
	Run: runRedundantPatternBind,
}

func runRedundantPatternBind(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		l, ok := n.(*syntax.Lambda)
		if !ok || l.Param == nil || l.Param.Tok == nil || l.Formals == nil || l.Colon == nil || l.Body == nil {
			continue
		}
		if len(l.Formals.Items) != 1 || l.Formals.Items[0].Ellipsis == nil {
			continue
		}
		b := lambdaParam(r, l)
		if b == nil || len(b.Uses) == 0 {
			continue
		}
		name := l.Param.Tok.Text
		d := lint.Diagnostic{Pos: l.Pos(), End: l.Colon.Pos(), Message: "`" + p.Text(l.Pos(), l.Colon.Pos()) + "` matches any set; `" + name + ":` says the same"}
		kind := lint.Suggested
		if strictInSet(r, b, l.Body) {
			kind = lint.Guarded
		}
		if !p.HasComments(l.Formals) {
			edit := lint.TextEdit{Pos: l.Pos(), End: l.Colon.Pos(), NewText: name}
			// args:with … would be the URI args:with: the colon then
			// needs a space after it.
			if off := l.Colon.End().Offset(); off < len(p.File.Src) && syntax.IsURIChar(p.File.Src[off]) {
				edit.End, edit.NewText = l.Colon.End(), name+": "
			}
			d.Fixes = []lint.Fix{{Message: "drop the empty pattern", Kind: kind, Edits: []lint.TextEdit{edit}}}
		}
		p.Report(d)
	}
	return nil
}

// lambdaParam returns the binding of l's parameter.
func lambdaParam(r *Resolution, l *syntax.Lambda) *Binding {
	for _, b := range r.BindingsOf(l) {
		if b.Kind == ParamBinding {
			return b
		}
	}
	return nil
}

// leftFirst are the operators whose left operand Nix evaluates before
// anything else (a > b is b < a, so it is not among them).
var leftFirst = map[syntax.Kind]bool{
	syntax.PLUS: true, syntax.MINUS: true, syntax.STAR: true, syntax.SLASH: true,
	syntax.CONCAT: true, syntax.UPDATE: true, syntax.EQ: true, syntax.NEQ: true,
	syntax.LAND: true, syntax.LOR: true, syntax.IMPL: true,
}

// strictInSet reports whether evaluating x first of all requires the
// binding b to be an attribute set: x is b.path without a default or
// b // y, under parentheses, let and with (which evaluate nothing first),
// or the left operand of an operator that evaluates it first.
func strictInSet(r *Resolution, b *Binding, x syntax.Expr) bool {
	for {
		switch y := x.(type) {
		case *syntax.Paren:
			x = y.X
			continue
		case *syntax.Let:
			x = y.Body
			continue
		case *syntax.With:
			x = y.Body
			continue
		case *syntax.Select:
			id, ok := syntax.Unparen(y.X).(*syntax.Ident)
			return ok && y.Or == nil && r.Refs[id] == b
		case *syntax.Binary:
			if id, ok := syntax.Unparen(y.X).(*syntax.Ident); ok && y.Op.Kind == syntax.UPDATE {
				return r.Refs[id] == b
			}
			if !leftFirst[y.Op.Kind] {
				return false
			}
			x = y.X
			continue
		}
		return false
	}
}
