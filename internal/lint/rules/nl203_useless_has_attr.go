package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UselessHasAttr reports if x ? a then x.a else d.
var UselessHasAttr = &lint.Rule{
	ID:       "NL203",
	Name:     "useless-has-attr",
	Severity: diag.Warning,
	Doc: `report if x ? a then x.a else d, which is x.a or d

The fix is safe: it is applied only when the tested expression and path
are token for token those selected in the then branch, and it parenthesises
d unless d is a single operand, since a default after "or" binds tightly.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			e, ok := n.(*syntax.If)
			if !ok {
				continue
			}
			h, ok := syntax.Unparen(e.Cond).(*syntax.HasAttr)
			if !ok {
				continue
			}
			s, ok := syntax.Unparen(e.Then).(*syntax.Select)
			if !ok || s.Or != nil || h.Path == nil || s.Path == nil {
				continue
			}
			if !sameTokens(h.X, s.X) || !sameTokens(h.Path, s.Path) {
				continue
			}
			text := p.Source(s) + " or " + paren(p, syntax.Unparen(e.Else))
			if _, isSel := syntax.Unparen(e.Else).(*syntax.Select); isSel {
				text = p.Source(s) + " or (" + p.Source(syntax.Unparen(e.Else)) + ")"
			}
			d := lint.Diagnostic{Pos: e.Pos(), End: e.End(), Message: "`if … ? … then … else` can be written `" + text + "`"}
			if !p.HasComments(e) {
				d.Fixes = []lint.Fix{{Message: "use or", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, e, text)}}}
			}
			p.Report(d)
		}
		return nil
	},
}
