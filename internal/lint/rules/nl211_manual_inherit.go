package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ManualInherit reports a = a; in a set that is not recursive.
var ManualInherit = &lint.Rule{
	ID:       "NL211",
	Name:     "manual-inherit",
	Severity: diag.Info,
	Requires: []*lint.Rule{Scope},
	Doc: `report a = a; in a non-recursive set, which is inherit a;

In a set that is not rec, the a on the right is read from the scope
around the set (a let, a function argument, a with), exactly where
inherit a; reads it, so the fix is guarded only by where the binding is:
it is applied in plain sets alone. In a let or a rec set, a = a; names the
binding itself and loops forever; that is NS310's finding, and turning it
into inherit a; would silently change which a is meant, so NL211 does not
report it there. The fix is withheld when comments sit inside the binding.`,
	Run: runManualInherit,
}

func runManualInherit(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		set, ok := n.(*syntax.AttrSet)
		if !ok || set.Rec != nil {
			continue
		}
		for _, bd := range set.Bindings {
			a, ok := bd.(*syntax.Attr)
			if !ok || a.Path == nil || len(a.Path.Names) != 1 || a.Semi == nil {
				continue
			}
			name := identName2(a.Path.Names[0])
			v, ok := a.Value.(*syntax.Ident)
			if name == "" || !ok || identName(v) != name || v.Tok.Kind != syntax.IDENT {
				continue
			}
			// The guard: the value must be a variable of the set's
			// surroundings, which it is in a non-rec set; checked on the
			// resolution so a future change of scoping cannot slip by.
			if b := r.Refs[v]; b != nil && b.Owner == syntax.Node(set) {
				continue
			}
			d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`" + name + " = " + name + ";` can be written `inherit " + name + ";`"}
			if !p.HasComments(a) {
				d.Fixes = []lint.Fix{{Message: "use inherit", Kind: lint.Guarded, Edits: []lint.TextEdit{replace(p, a, "inherit "+name+";")}}}
			}
			p.Report(d)
		}
	}
	return nil
}
