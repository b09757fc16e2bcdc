package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedRec reports rec { } whose bindings are never used inside.
var UnusedRec = &lint.Rule{
	ID:       "NS305",
	Name:     "unused-rec",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report rec { … } in which no binding uses another

Uses count wherever they are: values, interpolations in strings and
dynamic names, inherit (e) sources. The fix removes rec, which is safe
because no name inside resolves to the set's own bindings. Sets with an
__overrides attribute are left alone.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		used := map[*syntax.AttrSet]bool{}
		odd := map[*syntax.AttrSet]bool{}
		for _, b := range r.Bindings {
			if s, ok := b.Owner.(*syntax.AttrSet); ok && b.Kind == RecBinding {
				used[s] = used[s] || len(b.Uses) > 0
				odd[s] = odd[s] || b.Name == "__overrides"
			}
		}
		for _, n := range p.Nodes() {
			s, ok := n.(*syntax.AttrSet)
			if !ok || s.Rec == nil || used[s] || odd[s] {
				continue
			}
			p.Report(lint.Diagnostic{Pos: s.Rec.Pos(), End: s.Rec.End(), Message: "`rec` set uses none of its own bindings",
				Fixes: []lint.Fix{{Message: "remove rec", Kind: lint.Safe, Edits: []lint.TextEdit{{Pos: s.Rec.Pos(), End: s.Open.Pos()}}}}})
		}
		return nil
	},
}
