package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ImpureBuiltin reports builtins that read the evaluating machine.
var ImpureBuiltin = &lint.Rule{
	ID:       "NR505",
	Name:     "impure-builtin",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report builtins.currentSystem, currentTime, getEnv and storePath

They read the machine that evaluates (its system, clock, environment and
store) and fail in pure evaluation, which flakes use. Pass the system in,
and read configuration from files. There is no fix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			var x syntax.Expr
			switch n := n.(type) {
			case *syntax.Select, *syntax.Ident:
				x = n.(syntax.Expr)
			default:
				continue
			}
			for _, name := range []string{"currentSystem", "currentTime", "getEnv", "storePath"} {
				if builtinRef(r, x, name) {
					p.ReportRangef(n, "builtins.%s is impure: it fails in pure evaluation", name)
				}
			}
		}
		return nil
	},
}
