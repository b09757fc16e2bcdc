package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// SelfReference reports a = a; in let and rec.
var SelfReference = &lint.Rule{
	ID:       "NS310",
	Name:     "self-reference",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/guides/best-practices#recursive-attribute-set-rec",
	Doc: `report a = a; (or a = a.b;) in a let or rec set: infinite recursion

In let and rec the name on the right is the binding itself, not an outer
a, so evaluating it loops forever. This is the trap of turning inherit a;
into a = a; inside let or rec. When an outer a exists, the suggested fix
writes inherit a;, which reads the outer one.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != LetBinding && b.Kind != RecBinding && b.Kind != LegacyLetBinding {
				continue
			}
			for _, a := range b.Attrs {
				if len(a.Path.Names) != 1 {
					continue
				}
				root := rootIdent(a.Value)
				if root == nil || r.Refs[root] != b {
					continue
				}
				d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`" + b.Name + "` is defined as itself: infinite recursion"}
				if syntax.Unparen(a.Value) == syntax.Expr(root) && r.outer(b) {
					d.Fixes = []lint.Fix{{Message: "inherit the outer " + b.Name, Kind: lint.Suggested,
						Edits: []lint.TextEdit{replace(p, a, "inherit "+b.Name+";")}}}
				}
				p.Report(d)
			}
		}
		return nil
	},
}

// outer reports whether a binding of b's name exists outside the scope
// that binds b.
func (r *Resolution) outer(b *Binding) bool {
	return b.shadows != nil && b.shadows.Kind != BuiltinBinding
}
