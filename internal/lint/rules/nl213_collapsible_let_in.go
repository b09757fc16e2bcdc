package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// CollapsibleLetIn reports let … in let … in e.
var CollapsibleLetIn = &lint.Rule{
	ID:       "NL213",
	Name:     "collapsible-let-in",
	Severity: diag.Info,
	Requires: []*lint.Rule{Scope},
	Doc: `report let … in let … in e, which can be one let

The fix joins the two lets, guarded by the scope resolver: no name of the
inner let may also be bound by the outer one (the join would define it
twice), and no variable in the outer let's bindings may have the name of
an inner binding, whatever it names now (after the join it would name the
inner binding instead). Uses of outer names in the inner let are fine:
both are in one recursive scope afterwards. The fix is withheld when
comments sit between the two lets.`,
	Run: runCollapsibleLetIn,
}

func runCollapsibleLetIn(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		outer, ok := n.(*syntax.Let)
		if !ok || outer.In == nil {
			continue
		}
		inner, ok := outer.Body.(*syntax.Let)
		if !ok || len(outer.Bindings) == 0 || len(inner.Bindings) == 0 {
			continue
		}
		d := lint.Diagnostic{Pos: inner.Let.Pos(), End: inner.Let.End(), Message: "`let` directly inside `let … in` can be joined to it"}
		from, to := outer.Bindings[len(outer.Bindings)-1].End(), inner.Let.End()
		if !strings.ContainsAny(p.Text(from, to), "#*") && canJoinLets(r, outer, inner) {
			// The join rebinds names in all of outer: no other fix
			// there (such as the join of inner with a third let, whose
			// names the guard did not check against outer) may apply in
			// the same pass.
			d.Fixes = []lint.Fix{{Message: "join the lets", Kind: lint.Guarded,
				Edits: []lint.TextEdit{{Pos: from, End: to}}, Pos: outer.Pos(), End: outer.End()}}
		}
		p.Report(d)
	}
	return nil
}

// canJoinLets is the guard of NL213.
func canJoinLets(r *Resolution, outer, inner *syntax.Let) bool {
	innerNames := map[string]bool{}
	for _, b := range r.BindingsOf(inner) {
		innerNames[b.Name] = true
	}
	for _, b := range r.BindingsOf(outer) {
		if innerNames[b.Name] {
			return false
		}
	}
	if len(innerNames) == 0 {
		return false // dynamic or broken bindings: not understood
	}
	ok := true
	for _, bd := range outer.Bindings {
		syntax.Inspect(bd, func(n syntax.Node) bool {
			if id, isID := n.(*syntax.Ident); isID && innerNames[identName(id)] && r.isVariable(id) {
				ok = false
			}
			return ok
		})
	}
	return ok
}
