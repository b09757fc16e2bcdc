package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ManualInheritFrom reports a = x.a;.
var ManualInheritFrom = &lint.Rule{
	ID:       "NL212",
	Name:     "manual-inherit-from",
	Severity: diag.Info,
	Doc: `report a = x.a; which is inherit (x) a;

The fix is safe in every kind of set and let: inherit (x) evaluates x in
the same scope the value did. It is applied only to single names without a
default (a = x.a or d is different).`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Attr)
			if !ok || a.Path == nil || len(a.Path.Names) != 1 || a.Semi == nil {
				continue
			}
			name := identName2(a.Path.Names[0])
			s, ok := a.Value.(*syntax.Select)
			if name == "" || !ok || s.Or != nil || s.Path == nil || len(s.Path.Names) != 1 {
				continue
			}
			if got, ok := staticName(s.Path.Names[0]); !ok || got != name || identName2(s.Path.Names[0]) == "" {
				continue
			}
			text := "inherit (" + p.Source(syntax.Unparen(s.X)) + ") " + name + ";"
			d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`" + p.Source(a) + "` can be written `" + text + "`"}
			if !p.HasComments(a) {
				d.Fixes = []lint.Fix{{Message: "use inherit", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, a, text)}}}
			}
			p.Report(d)
		}
		return nil
	},
}
