package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// SetLiteralUpdate reports { … } // { … }.
var SetLiteralUpdate = &lint.Rule{
	ID:       "NL210",
	Name:     "set-literal-update",
	Severity: diag.Info,
	Doc: `report { a = 1; } // { b = 2; }, which is one set literal

The fix merges the two sets, guarded: // replaces whole top-level
attributes while one literal merges nested ones ({ a.x = 1; } // { a.y =
2; } is { a.y = 2; }, but { a.x = 1; a.y = 2; } keeps both) and rejects
duplicates, so the fix is applied only when the top-level names of the two
sets are static and disjoint. Neither set may be rec, since merging would
let the names of one see the other. It is withheld when comments sit
between the two sets. Updates with an empty set are NL208's.`,
	Run: runSetLiteralUpdate,
}

func runSetLiteralUpdate(p *lint.Pass) error {
	for _, n := range p.Nodes() {
		b, ok := n.(*syntax.Binary)
		if !ok || b.Op.Kind != syntax.UPDATE {
			continue
		}
		l, ok1 := b.X.(*syntax.AttrSet)
		r, ok2 := b.Y.(*syntax.AttrSet)
		if !ok1 || !ok2 || len(l.Bindings) == 0 || len(r.Bindings) == 0 || l.Close == nil || r.Open == nil {
			continue
		}
		d := lint.Diagnostic{Pos: b.Pos(), End: b.End(), Message: "update of one set literal by another"}
		from, to := l.Bindings[len(l.Bindings)-1].End(), r.Open.End()
		if l.Rec == nil && r.Rec == nil && disjointNames(l, r) && !strings.ContainsAny(p.Text(from, to), "#*") {
			d.Fixes = []lint.Fix{{Message: "merge the sets", Kind: lint.Guarded,
				Edits: []lint.TextEdit{{Pos: from, End: to}}}}
		}
		p.Report(d)
	}
	return nil
}

// topNames returns the static first names a set's bindings define, and
// false if one is dynamic.
func topNames(s *syntax.AttrSet) (map[string]bool, bool) {
	names := map[string]bool{}
	for _, bd := range s.Bindings {
		switch bd := bd.(type) {
		case *syntax.Attr:
			if bd.Path == nil || len(bd.Path.Names) == 0 {
				return nil, false
			}
			name, ok := staticName(bd.Path.Names[0])
			if !ok {
				return nil, false
			}
			names[name] = true
		case *syntax.Inherit:
			for _, n := range bd.Names {
				name, ok := staticName(n)
				if !ok {
					return nil, false
				}
				names[name] = true
			}
		default:
			return nil, false
		}
	}
	return names, true
}

// disjointNames reports whether two sets define static top-level names
// and none in common.
func disjointNames(a, b *syntax.AttrSet) bool {
	na, ok1 := topNames(a)
	nb, ok2 := topNames(b)
	if !ok1 || !ok2 {
		return false
	}
	for n := range na {
		if nb[n] {
			return false
		}
	}
	return true
}
