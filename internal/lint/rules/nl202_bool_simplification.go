package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// BoolSimplification reports negations that have a shorter form.
var BoolSimplification = &lint.Rule{
	ID:       "NL202",
	Name:     "bool-simplification",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report !(a == b), !(a != b), !true and !false

!(a == b) is a != b, and the other way round; !true is false and !false is
true. The fix is safe: the results are equal for every a and b. It is
withheld for !true and !false when true or false is rebound.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			u, ok := n.(*syntax.Unary)
			if !ok || u.Op.Kind != syntax.NOT || p.HasComments(u) {
				continue
			}
			if v, ok := isBoolLit(r, u.X); ok {
				text := "true"
				if v {
					text = "false"
				}
				p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(), Message: "`" + p.Source(u) + "` is " + text,
					Fixes: []lint.Fix{{Message: "write the constant", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, u, text)}}}})
				continue
			}
			par, ok := u.X.(*syntax.Paren)
			if !ok {
				continue
			}
			b, ok := par.X.(*syntax.Binary)
			if !ok || (b.Op.Kind != syntax.EQ && b.Op.Kind != syntax.NEQ) {
				continue
			}
			op := "!="
			if b.Op.Kind == syntax.NEQ {
				op = "=="
			}
			text := p.Text(b.Pos(), b.Op.Pos()) + op + p.Text(b.Op.End(), b.End())
			// A comparison binds looser than !, so the result keeps
			// the parentheses unless the context is loose enough.
			if needParens(p, u) {
				text = "(" + text + ")"
			}
			p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(), Message: "`" + p.Source(u) + "` can be written `" + text + "`",
				Fixes: []lint.Fix{{Message: "use the opposite comparison", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, u, text)}}}})
		}
		return nil
	},
}

// needParens reports whether an equality comparison put in place of x
// would need parentheses.
func needParens(p *lint.Pass, x syntax.Expr) bool {
	switch parent := p.Parent(x).(type) {
	case *syntax.Binary:
		// == binds tighter than &&, || and ->, and looser than the rest;
		// it is not associative.
		switch parent.Op.Kind {
		case syntax.LAND, syntax.LOR, syntax.IMPL, syntax.PIPELEFT, syntax.PIPERIGHT:
			return false
		}
		return true
	case *syntax.Unary, *syntax.Apply, *syntax.Select, *syntax.HasAttr, *syntax.List:
		return true
	}
	return false
}
