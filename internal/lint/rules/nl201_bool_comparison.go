package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// BoolComparison reports comparisons with true and false.
var BoolComparison = &lint.Rule{
	ID:       "NL201",
	Name:     "bool-comparison",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report comparisons with a boolean literal such as x == true

x == true is x, and x == false is !x, when x is a boolean. When x is not
(a string, null, an attribute set), the comparison is simply false while
the shorter form fails, so the fix is guarded: applied only when x is
provably boolean (a comparison, a negation, &&, ||, ->, a ? test, or a call
of a builtin predicate such as isString or elem), and merely suggested
otherwise. true and false must be the builtins, not rebound names.`,
	Run: runBoolComparison,
}

// boolPredicates are builtins that return a boolean.
var boolPredicates = setOf(`isAttrs isBool isFloat isFunction isInt isList isNull isPath
isString elem hasAttr pathExists lessThan all any`)

// provablyBool reports whether x always evaluates to a boolean (or fails).
func provablyBool(r *Resolution, x syntax.Expr) bool {
	x = syntax.Unparen(x)
	switch x := x.(type) {
	case *syntax.Binary:
		switch x.Op.Kind {
		case syntax.EQ, syntax.NEQ, syntax.LT, syntax.GT, syntax.LEQ, syntax.GEQ,
			syntax.LAND, syntax.LOR, syntax.IMPL:
			return true
		}
	case *syntax.Unary:
		return x.Op.Kind == syntax.NOT
	case *syntax.HasAttr:
		return true
	case *syntax.Ident:
		_, ok := isBoolLit(r, x)
		return ok
	case *syntax.Apply:
		fn, _ := call(x)
		for name := range boolPredicates {
			if builtinRef(r, fn, name) {
				return true
			}
		}
	}
	return false
}

func runBoolComparison(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		b, ok := n.(*syntax.Binary)
		if !ok || (b.Op.Kind != syntax.EQ && b.Op.Kind != syntax.NEQ) {
			continue
		}
		other, lit := b.X, b.Y
		val, isLit := isBoolLit(r, lit)
		if !isLit {
			other, lit = b.Y, b.X
			if val, isLit = isBoolLit(r, lit); !isLit {
				continue
			}
		}
		if _, both := isBoolLit(r, other); both {
			continue
		}
		negate := val == (b.Op.Kind == syntax.NEQ)
		text := p.Source(other)
		if negate {
			text = "!" + notOperand(p, other)
		}
		kind := lint.Suggested
		if provablyBool(r, other) && !p.HasComments(b) {
			kind = lint.Guarded
		}
		p.Report(lint.Diagnostic{Pos: b.Pos(), End: b.End(),
			Message: "comparison with " + p.Source(lit) + " can be written `" + text + "`",
			Fixes:   []lint.Fix{{Message: "simplify the comparison", Kind: kind, Edits: []lint.TextEdit{replace(p, b, text)}}}})
	}
	return nil
}

// notOperand returns x as the operand of !.
func notOperand(p *lint.Pass, x syntax.Expr) string {
	if precOf(x) > 8 {
		return p.Source(x)
	}
	return "(" + p.Source(x) + ")"
}
