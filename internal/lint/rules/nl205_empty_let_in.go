package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// EmptyLetIn reports let in e.
var EmptyLetIn = &lint.Rule{
	ID:       "NL205",
	Name:     "empty-let-in",
	Severity: diag.Warning,
	Doc: `report let in e, a let without bindings

The fix removes let and in and keeps any comment written between them.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			l, ok := n.(*syntax.Let)
			if !ok || len(l.Bindings) > 0 || l.In == nil || l.Body == nil {
				continue
			}
			var comments []string
			for _, t := range []*syntax.Token{l.In, syntax.FirstToken(l.Body)} {
				for _, c := range t.Leading {
					if c.Kind != syntax.SPACE {
						sep := " "
						if c.Kind == syntax.LINECOMMENT {
							sep = "\n"
						}
						comments = append(comments, c.Text+sep)
					}
				}
			}
			p.Report(lint.Diagnostic{Pos: l.Pos(), End: l.In.End(), Message: "`let` without bindings",
				Fixes: []lint.Fix{{Message: "remove the empty let", Kind: lint.Safe,
					Edits: []lint.TextEdit{replaceRange(p, l.Pos(), l.Body.Pos(), strings.Join(comments, ""))}}}})
		}
		return nil
	},
}
