package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ListLiteralConcat reports [a] ++ [b].
var ListLiteralConcat = &lint.Rule{
	ID:       "NL209",
	Name:     "list-literal-concat",
	Severity: diag.Info,
	Doc: `report [ a ] ++ [ b ], which is [ a b ]

The fix merges the two lists. It is safe: list literals concatenate to the
list of their elements. It is withheld when comments sit between the two.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			b, ok := n.(*syntax.Binary)
			if !ok || b.Op.Kind != syntax.CONCAT {
				continue
			}
			l, ok1 := b.X.(*syntax.List)
			r, ok2 := b.Y.(*syntax.List)
			if !ok1 || !ok2 || len(l.Elems) == 0 || len(r.Elems) == 0 {
				continue
			}
			d := lint.Diagnostic{Pos: b.Pos(), End: b.End(), Message: "concatenation of two list literals"}
			from, to := l.Elems[len(l.Elems)-1].End(), r.Elems[0].Pos()
			if !strings.ContainsAny(p.Text(from, to), "#*") {
				d.Fixes = []lint.Fix{{Message: "merge the lists", Kind: lint.Safe,
					Edits: []lint.TextEdit{{Pos: from, End: to, NewText: " "}}}}
			}
			p.Report(d)
		}
		return nil
	},
}
