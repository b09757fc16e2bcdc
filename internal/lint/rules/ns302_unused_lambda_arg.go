package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedLambdaArg reports x: … with x unused.
var UnusedLambdaArg = &lint.Rule{
	ID:       "NS302",
	Name:     "unused-lambda-arg",
	Severity: diag.Info,
	Requires: []*lint.Rule{Scope},
	Doc: `report a function argument x: … that the body never uses

The fix renames it to _x, the conventional mark of an intentionally unused
argument; it is safe, and withheld when the body mentions _x (the new name
would capture it). Curried functions such as final: prev: overlays are not
reported: their shape is fixed by the caller.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != ParamBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
				continue
			}
			l := b.Owner.(*syntax.Lambda)
			if l.Formals != nil {
				continue // NS304
			}
			if _, curried := l.Body.(*syntax.Lambda); curried {
				continue
			}
			if _, inner := p.Parent(l).(*syntax.Lambda); inner {
				continue
			}
			d := lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused function argument `" + b.Name + "`"}
			if !p.Mentions(l.Body, "_"+b.Name) {
				d.Fixes = []lint.Fix{{Message: "rename it to _" + b.Name, Kind: lint.Safe,
					Edits: []lint.TextEdit{replace(p, b.Ident, "_"+b.Name)}}}
			}
			p.Report(d)
		}
		return nil
	},
}
