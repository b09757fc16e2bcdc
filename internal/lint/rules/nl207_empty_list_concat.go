package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// EmptyListConcat reports [] ++ x and x ++ [].
var EmptyListConcat = &lint.Rule{
	ID:       "NL207",
	Name:     "empty-list-concat",
	Severity: diag.Warning,
	Doc: `report [] ++ x and x ++ [], which are x

The fix keeps x. It differs only when x is not a list: the concatenation
fails and x alone does not.`,
	Run: func(p *lint.Pass) error {
		emptyOperand(p, syntax.CONCAT, func(x syntax.Expr) bool {
			l, ok := x.(*syntax.List)
			return ok && len(l.Elems) == 0
		}, "concatenation with an empty list", "drop the empty list")
		return nil
	},
}
