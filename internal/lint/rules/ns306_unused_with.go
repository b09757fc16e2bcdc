package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedWith reports with e; whose body takes no name from e.
var UnusedWith = &lint.Rule{
	ID:       "NS306",
	Name:     "unused-with",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report with e; when no name in its body can come from e

A with only supplies names that no let, rec, function or builtin binds;
when every name in the body is bound that way, the with does nothing and e
is never evaluated. The fix removes "with e;", keeping comments.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, w := range r.Withs {
			if len(r.UsesOf(w)) > 0 || w.Semi == nil || w.Body == nil {
				continue
			}
			d := lint.Diagnostic{Pos: w.Pos(), End: w.Semi.End(), Message: "`with " + clipSource(p, w.X) + ";` provides no name"}
			if !hasCommentsBefore(w.Body) {
				d.Fixes = []lint.Fix{{Message: "remove the with", Kind: lint.Safe, Edits: []lint.TextEdit{{Pos: w.Pos(), End: w.Body.Pos()}}}}
			}
			p.Report(d)
		}
		return nil
	},
}

func hasCommentsBefore(n syntax.Node) bool {
	for _, c := range syntax.FirstToken(n).Leading {
		if c.Kind != syntax.SPACE {
			return true
		}
	}
	return false
}
