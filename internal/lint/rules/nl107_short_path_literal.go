package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ShortPathLiteral reports relative paths written without ./.
var ShortPathLiteral = &lint.Rule{
	ID:       "NL107",
	Name:     "short-path-literal",
	Severity: diag.Warning,
	Doc: `report relative paths written without ./, such as foo/bar

foo/bar is the path ./foo/bar, but it reads like a division, and Nix can
be told to reject it (lint-short-path-literals). The fix prefixes ./; the
path is the same, so nix-instantiate --parse prints the same expression.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			pe, ok := n.(*syntax.PathExpr)
			if !ok || len(pe.Parts) == 0 {
				continue
			}
			t, ok := pe.Parts[0].(*syntax.Text)
			if !ok || t.Tok.Kind != syntax.PATH {
				continue
			}
			s := t.Tok.Text
			if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
				continue
			}
			p.Report(lint.Diagnostic{Pos: pe.Pos(), End: pe.End(),
				Message: "path `" + p.Source(pe) + "` has no ./ prefix",
				Fixes: []lint.Fix{{Message: "prefix the path with ./", Kind: lint.Safe,
					Edits: []lint.TextEdit{{Pos: t.Pos(), End: t.Pos(), NewText: "./"}}}}})
		}
		return nil
	},
}
