package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// shadowable are the names NL112 protects.
var shadowable = setOf(`true false null map import builtins toString throw abort
derivation removeAttrs baseNameOf dirOf isNull fetchTarball __sub __lessThan __mul
__div __findFile __nixPath`)

// BuiltinShadowed reports bindings that rebind builtins.
var BuiltinShadowed = &lint.Rule{
	ID:       "NL112",
	Name:     "builtin-shadowed",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report let, rec, lambda and formal names that rebind a builtin

A binding named true, null, map, import, toString or builtins changes what
every use of that name below it means, and Nix desugars a - b, a < b, a * b,
a / b and <p> to calls of __sub, __lessThan, __mul, __div and __findFile:
rebinding those changes operators. Keys of non-recursive attribute sets do
not bind names and are fine. There is no fix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if !shadowable[b.Name] {
				continue
			}
			var at syntax.Node
			switch {
			case b.Ident != nil:
				at = b.Ident
			case len(b.Attrs) > 0:
				at = b.Attrs[0].Path.Names[0]
			case b.InheritAt != nil:
				at = b.InheritAt
			default:
				continue
			}
			p.ReportRangef(at, "`%s` rebinds the builtin of that name", b.Name)
		}
		return nil
	},
}
