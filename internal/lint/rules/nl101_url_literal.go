package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// URLLiteral reports unquoted URLs.
var URLLiteral = &lint.Rule{
	ID:       "NL101",
	Name:     "url-literal",
	Severity: diag.Warning,
	URL:      "https://github.com/NixOS/rfcs/pull/45",
	Doc: `report unquoted URLs such as https://example.org

Nix reads an unquoted URI as a string, a feature RFC 45 deprecated and Nix
can be told to reject (lint-url-literals). The fix quotes it; the value is
the same string, so nix-instantiate --parse prints the same expression.
URIs shaped like x:x are reported by NL102 instead.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			u, ok := n.(*syntax.URI)
			if !ok || lambdaLikeURI.MatchString(u.Tok.Text) {
				continue
			}
			p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(),
				Message: "unquoted URL " + u.Tok.Text + " is deprecated",
				Fixes: []lint.Fix{{Message: "quote the URL", Kind: lint.Safe,
					Edits: []lint.TextEdit{replace(p, u, syntax.Quote(u.Tok.Text))}}}})
		}
		return nil
	},
}
