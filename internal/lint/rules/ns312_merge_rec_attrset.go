package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// MergeRecAttrset reports one attribute defined in parts, some rec.
var MergeRecAttrset = &lint.Rule{
	ID:       "NS312",
	Name:     "merge-rec-attrset",
	Severity: diag.Warning,
	Doc: `report one attribute defined in parts of which some are rec and some not

{ a = rec { x = 1; y = x; }; a.z = x; } merges into one set a, but whether
its names see each other depends on which part comes first: Nix keeps the
rec-ness of the first definition. Write the attribute in one place. There
is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			var bs []syntax.Binding
			switch n := n.(type) {
			case *syntax.AttrSet:
				bs = n.Bindings
			case *syntax.Let:
				bs = n.Bindings
			default:
				continue
			}
			type part struct {
				rec bool
				at  syntax.Node
			}
			parts := map[string][]part{}
			var order []string
			for _, b := range bs {
				a, ok := b.(*syntax.Attr)
				if !ok || a.Path == nil || len(a.Path.Names) == 0 {
					continue
				}
				name, ok := staticName(a.Path.Names[0])
				if !ok {
					continue
				}
				pt := part{at: a}
				if len(a.Path.Names) == 1 {
					s, ok := a.Value.(*syntax.AttrSet)
					if !ok {
						continue
					}
					pt.rec = s.Rec != nil
				}
				if parts[name] == nil {
					order = append(order, name)
				}
				parts[name] = append(parts[name], pt)
			}
			for _, name := range order {
				ps := parts[name]
				for _, q := range ps[1:] {
					if q.rec != ps[0].rec {
						p.ReportRangef(q.at, "`%s` is merged from rec and non-rec parts; Nix keeps the rec-ness of the first", name)
						break
					}
				}
			}
		}
		return nil
	},
}
