package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// LookupPath reports <nixpkgs> and other search paths.
var LookupPath = &lint.Rule{
	ID:       "NR501",
	Name:     "lookup-path",
	Severity: diag.Warning,
	URL:      "https://nix.dev/guides/best-practices#search-path",
	Doc: `report lookup paths such as <nixpkgs>

<nixpkgs> means whatever $NIX_PATH says on the machine that evaluates, so
the same file builds different systems on different machines, and it fails
in pure evaluation. Pin the source (a flake input, or fetchTarball with a
hash) and pass it in. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			if s, ok := n.(*syntax.SearchPath); ok {
				if a, isApp := p.Parent(s).(*syntax.Apply); isApp && a.Fn.End() == s.Pos() {
					continue // NL106: a<b>c
				}
				p.ReportRangef(s, "lookup path %s depends on $NIX_PATH", s.Tok.Text)
			}
		}
		return nil
	},
}
