package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// OverrideOfFixed reports hosts that override what a template or profile
// fixes, and composition conflicts a host settles without saying why.
var OverrideOfFixed = &lint.Rule{
	ID:       "FV11",
	Name:     "override-of-fixed",
	Severity: diag.Warning,
	Doc: `report a host overriding a value its template or a profile marks as fixed

A template or profile lists, under fixed, the dotted paths within it that
hosts must keep ("network.ssh.permitRootLogin" in a template,
"editors.neovim" in a profile, which is the users' home). A host, or any
layer above the one that fixes the value, setting it to something else is
reported at the overriding value, with the fixed declaration as related
position. Restating the same value is not an override.

It also reports, at info level, a composition conflict resolved silently:
two profiles of one user disagree on a leaf and the host settles it, but no
doc comment explains the choice (on the host's field, on a field around it
within the host, or heading the block of fields it is in).`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			if h.Leaves == nil {
				continue
			}
			for _, fx := range h.Fixed {
				for _, l := range h.Leaves(fx.Path) {
					if l.Set.Layer == fx.Layer {
						continue
					}
					for _, o := range l.Overridden {
						if o.Layer != fx.Layer || reflect.DeepEqual(o.Value, l.Set.Value) {
							continue
						}
						p.Report(lint.Diagnostic{Host: h.Name, Path: l.Path, Range: l.Set.Range,
							Message: fmt.Sprintf("%s: %s sets %s to %s, but %s fixes it at %s", h.Name, l.Set.Layer,
								strings.Join(l.Path, "."), show(l.Set.Value), fx.Layer, show(o.Value)),
							Related: []diag.Related{{Range: fx.Range, Message: "fixed by " + fx.Layer}}})
						break
					}
				}
			}
			for _, l := range h.Leaves(nil) {
				if l.Set.Kind != "host" || l.Set.Doc {
					continue
				}
				if a, b, ok := profileConflict(l.Overridden); ok {
					d := lint.Diagnostic{Host: h.Name, Path: l.Path, Range: l.Set.Range,
						Message: fmt.Sprintf("%s: %s and %s disagree on %s; the host settles it without a comment saying why",
							h.Name, a.Layer, b.Layer, strings.Join(l.Path, ".")),
						Related: []diag.Related{
							{Range: a.Range, Message: fmt.Sprintf("%s sets %s", a.Layer, show(a.Value))},
							{Range: b.Range, Message: fmt.Sprintf("%s sets %s", b.Layer, show(b.Value))}}}
					p.Report(d.WithSeverity(diag.Info))
				}
			}
		}
		return nil
	},
}

// profileConflict returns two profile origins among os that disagree.
func profileConflict(os []lint.Origin) (a, b lint.Origin, ok bool) {
	for i, x := range os {
		for _, y := range os[i+1:] {
			if x.Kind == "profile" && y.Kind == "profile" && x.Layer != y.Layer && !reflect.DeepEqual(x.Value, y.Value) {
				return x, y, true
			}
		}
	}
	return a, b, false
}

// show formats a leaf value for a message.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}
