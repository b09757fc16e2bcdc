package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// URILooksLikeLambda reports URIs such as x:x that were meant as lambdas.
var URILooksLikeLambda = &lint.Rule{
	ID:       "NL102",
	Name:     "uri-looks-like-lambda",
	Severity: diag.Warning,
	Doc: `report x:y written without a space, which Nix reads as a string

Without a space after the colon, x:x is not the identity function but the
URI string "x:x": a scheme, a colon and more characters lex as one URI
token. The suggested fix adds the space; it changes the meaning, which is
the point, so it is never applied automatically.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			u, ok := n.(*syntax.URI)
			if !ok || !lambdaLikeURI.MatchString(u.Tok.Text) {
				continue
			}
			param, body, _ := strings.Cut(u.Tok.Text, ":")
			p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(),
				Message: "`" + u.Tok.Text + "` is the string \"" + u.Tok.Text + "\", not a function",
				Fixes: []lint.Fix{{Message: "write a function with a space after the colon", Kind: lint.Suggested,
					Edits: []lint.TextEdit{replace(p, u, param+": "+body)}}}})
		}
		return nil
	},
}
