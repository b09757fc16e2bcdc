package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// EmptyInherit reports inherit; and inherit (x);.
var EmptyInherit = &lint.Rule{
	ID:       "NL206",
	Name:     "empty-inherit",
	Severity: diag.Warning,
	Doc: `report inherit; and inherit (x); that inherit nothing

The fix removes the binding; inherit (x); never evaluates x, so nothing
changes.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			in, ok := n.(*syntax.Inherit)
			if !ok || len(in.Names) > 0 || in.Semi == nil {
				continue
			}
			d := lint.Diagnostic{Pos: in.Pos(), End: in.End(), Message: "`inherit` of nothing"}
			if !p.HasComments(in) {
				d.Fixes = []lint.Fix{{Message: "remove the empty inherit", Kind: lint.Safe, Edits: []lint.TextEdit{removal(p, in)}}}
			}
			p.Report(d)
		}
		return nil
	},
}
