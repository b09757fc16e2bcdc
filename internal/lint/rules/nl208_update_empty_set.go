package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UpdateEmptySet reports x // {} and {} // x.
var UpdateEmptySet = &lint.Rule{
	ID:       "NL208",
	Name:     "update-empty-set",
	Severity: diag.Warning,
	Doc: `report x // {} and {} // x, which are x

The fix keeps x. It differs only when x is not an attribute set: the update
fails and x alone does not.`,
	Run: func(p *lint.Pass) error {
		emptyOperand(p, syntax.UPDATE, func(x syntax.Expr) bool {
			s, ok := x.(*syntax.AttrSet)
			return ok && s.Rec == nil && len(s.Bindings) == 0
		}, "update with an empty set", "drop the empty set")
		return nil
	},
}
