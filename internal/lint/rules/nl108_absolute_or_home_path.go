package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// AbsolutePath reports absolute and home path literals.
var AbsolutePath = &lint.Rule{
	ID:       "NL108",
	Name:     "absolute-or-home-path",
	Severity: diag.Warning,
	Doc: `report path literals such as /etc/foo and ~/x

An absolute path literal reads the machine that evaluates, not the one
that runs the system, and is copied into the store when used as a source;
~/x depends on $HOME and fails in pure evaluation. Use a string for a
run-time location, or a relative path for a file of the repository. There
is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			pe, ok := n.(*syntax.PathExpr)
			if !ok || len(pe.Parts) == 0 {
				continue
			}
			t, ok := pe.Parts[0].(*syntax.Text)
			if !ok {
				continue
			}
			switch {
			case t.Tok.Kind == syntax.HPATH:
				p.ReportRangef(pe, "home path `%s` depends on $HOME and fails in pure evaluation", p.Source(pe))
			case t.Tok.Kind == syntax.PATH && strings.HasPrefix(t.Tok.Text, "/") && t.Tok.Text != "/.":
				if _, isApp := p.Parent(pe).(*syntax.Apply); isApp && isDivisionLike(p, pe) {
					continue // NL106 says more
				}
				p.ReportRangef(pe, "absolute path `%s` reads the evaluating machine; use a string for a run-time location", p.Source(pe))
			}
		}
		return nil
	},
}
