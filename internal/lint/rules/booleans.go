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
	x = unparen(x)
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
		if provablyBool(r, other) && !hasComments(b) {
			kind = lint.Guarded
		}
		p.Report(lint.Diagnostic{Pos: b.Pos(), End: b.End(),
			Message: "comparison with " + p.Source(lit) + " can be written `" + text + "`",
			Fixes:   []lint.Fix{{Message: "simplify the comparison", Kind: kind, Edits: []lint.TextEdit{replace(b, text)}}}})
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
			if !ok || u.Op.Kind != syntax.NOT || hasComments(u) {
				continue
			}
			if v, ok := isBoolLit(r, u.X); ok {
				text := "true"
				if v {
					text = "false"
				}
				p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(), Message: "`" + p.Source(u) + "` is " + text,
					Fixes: []lint.Fix{{Message: "write the constant", Kind: lint.Safe, Edits: []lint.TextEdit{replace(u, text)}}}})
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
				Fixes: []lint.Fix{{Message: "use the opposite comparison", Kind: lint.Safe, Edits: []lint.TextEdit{replace(u, text)}}}})
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
