package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// OrAsIdentifier reports or used as a variable.
var OrAsIdentifier = &lint.Rule{
	ID:       "NL104",
	Name:     "or-as-identifier",
	Severity: diag.Warning,
	Doc: `report the keyword or used as a variable or argument

Nix lets or be a name where a keyword cannot be, so [ a or b ] is a list of
three elements and f a or b applies f to a, or and b; later Nix versions
warn about it. If a default was meant, write it after a select (a.b or c);
if a logical or was meant, write ||. There is no automatic fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			switch n := n.(type) {
			case *syntax.Apply:
				if id, ok := n.Arg.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
					p.ReportRangef(id, "`or` here is a variable passed as an argument; write `||` for a logical or, or `x.a or d` for a default")
				}
			case *syntax.List:
				for _, e := range n.Elems {
					if id, ok := e.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
						p.ReportRangef(id, "`or` here is a list element; write `||` for a logical or, or `x.a or d` for a default")
					}
				}
			case *syntax.Attr:
				if n.Path != nil && len(n.Path.Names) > 0 {
					if id, ok := n.Path.Names[0].(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
						p.ReportRangef(id, "`or` used as an attribute name; quote it as \"or\"")
					}
				}
			}
		}
		return nil
	},
}
