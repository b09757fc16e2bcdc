package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// MkIfConstant reports mkIf true e and mkIf false e.
var MkIfConstant = &lint.Rule{
	ID:       "NM402",
	Name:     "mkif-constant",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report mkIf true e and mkIf false e

As an option definition, mkIf true e is e, and the fix writes e (safe: the
module system treats the two alike). mkIf false e defines nothing: the
whole definition is dead, and there is no fix, since what should replace it
depends on the surrounding code.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if !ok {
				continue
			}
			if _, nested := p.Parent(a).(*syntax.Apply); nested {
				continue // mkIf c e x: not a plain definition
			}
			fn, args := call(a)
			if len(args) != 2 || !isLibFn(fn, "mkIf") {
				continue
			}
			v, ok := isBoolLit(r, args[0])
			if !ok {
				continue
			}
			if !v {
				p.ReportRangef(a, "`mkIf false` defines nothing; this definition is dead")
				continue
			}
			d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`mkIf true e` is e"}
			if !p.HasComments(a) {
				d.Fixes = []lint.Fix{{Message: "drop mkIf true", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, a, p.Source(args[1]))}}}
			}
			p.Report(d)
		}
		return nil
	},
}
