package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedAtBinding reports args@{ … } with args unused.
var UnusedAtBinding = &lint.Rule{
	ID:       "NS304",
	Name:     "unused-at-binding",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report the name in args@{ … }: when the body never uses it

The fix removes "args@" (or "@args"); the function takes the same
arguments either way, so it is safe.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != ParamBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
				continue
			}
			l := b.Owner.(*syntax.Lambda)
			if l.Formals == nil || l.At == nil {
				continue
			}
			var e lint.TextEdit
			if l.ParamFirst {
				e = lint.TextEdit{Pos: l.Param.Pos(), End: l.Formals.Pos()}
			} else {
				e = lint.TextEdit{Pos: l.Formals.End(), End: l.Param.End()}
			}
			p.Report(lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused `@` binding `" + b.Name + "`",
				Fixes: []lint.Fix{{Message: "remove the @ binding", Kind: lint.Safe, Edits: []lint.TextEdit{e}}}})
		}
		return nil
	},
}
