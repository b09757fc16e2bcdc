package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// DeprecatedToPath reports builtins.toPath.
var DeprecatedToPath = &lint.Rule{
	ID:       "NL110",
	Name:     "deprecated-to-path",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report builtins.toPath, which is deprecated

builtins.toPath returns a string, not a path, despite its name. Write
/. + s for an absolute path or ./. + s for one relative to the file; the
suggested fix uses /. + s, which is equivalent only for absolute s, so it
is never applied automatically.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if ok && builtinRef(r, a.Fn, "toPath") {
				p.Report(lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "builtins.toPath is deprecated",
					Fixes: []lint.Fix{{Message: "write /. + the string", Kind: lint.Suggested,
						Edits: []lint.TextEdit{replace(p, a, "(/. + "+p.Source(a.Arg)+")")}}}})
			}
		}
		return nil
	},
}
