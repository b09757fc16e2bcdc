package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// PrimopPrefix reports builtins.x where the bare name is bound, unknown
// builtins, and bare __x names.
var PrimopPrefix = &lint.Rule{
	ID:       "NL111",
	Name:     "primop-prefix",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report builtins.map where map will do, unknown builtins and bare __x names

A few builtins (map, toString, import, throw, …) are bound without the
builtins. prefix; writing the prefix for them is noise. The fix removes it,
guarded: only when the bare name is not rebound where it is used, so that
the name still means the builtin. builtins.x with an x no Nix release has is
an error unless guarded by "or" (builtins.x or fallback). A bare __x name
(__sub, __findFile) is an implementation detail; write builtins.x.`,
	Run: runPrimopPrefix,
}

func runPrimopPrefix(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		switch n := n.(type) {
		case *syntax.Select:
			id, ok := n.X.(*syntax.Ident)
			if !ok || identName(id) != "builtins" || n.Path == nil || len(n.Path.Names) == 0 {
				continue
			}
			if b := r.Refs[id]; b == nil || b.Kind != BuiltinBinding {
				continue
			}
			name, ok := staticName(n.Path.Names[0])
			if !ok {
				continue
			}
			switch {
			case !primops[name]:
				if n.Or == nil {
					p.Report(lint.Diagnostic{Pos: n.Pos(), End: n.Path.Names[0].End(),
						Message: "builtins has no attribute `" + name + "`"}.WithSeverity(diag.Error))
				}
			case inPrelude(name) && name != "builtins":
				d := lint.Diagnostic{Pos: n.Pos(), End: n.Path.Names[0].End(),
					Message: "`builtins." + name + "` can be written `" + name + "`"}
				if !r.Shadowed(id, name) && len(n.Path.Names) == 1 && n.Or == nil && !p.HasComments(n) {
					d.Fixes = []lint.Fix{{Message: "drop the builtins. prefix", Kind: lint.Guarded,
						Edits: []lint.TextEdit{replace(p, n, name)}}}
				}
				p.Report(d)
			}
		case *syntax.Ident:
			name := identName(n)
			// __curPos is no primop: Nix's parser turns it into the
			// position, and builtins has no curPos.
			if len(name) > 2 && name[:2] == "__" && primops[name[2:]] {
				if b := r.Refs[n]; b != nil && b.Kind == BuiltinBinding {
					p.ReportRangef(n, "`%s` is internal; write `builtins.%s`", name, name[2:])
				}
			}
		}
	}
	return nil
}
