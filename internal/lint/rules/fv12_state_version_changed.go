package rules

import (
	"fmt"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// StateVersionChanged reports a host whose stateVersion differs from the
// one its generated configuration recorded.
var StateVersionChanged = &lint.Rule{
	ID:       "FV12",
	Name:     "state-version-changed",
	Severity: diag.Error,
	URL:      "https://nixos.org/manual/nixos/stable/options#opt-system.stateVersion",
	Doc: `report a host whose stateVersion differs from the one recorded for it

system.stateVersion names the NixOS release whose defaults the host's
stateful data (database formats, state directories) was created with. It
is set once, when the host is installed, and never bumped: changing it
does not upgrade anything and can make services misread their own data.

The recorded value is the one in the host's previously generated
configuration, <output>/hosts/<host>.nix, read before generating again;
a host without one (never generated) is not checked. The finding is
placed at the CUE that sets stateVersion and points at the recorded line.
To keep the recorded version, set stateVersion back to it; there is no
fix.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			rec, ok := h.Recorded["system.stateVersion"]
			if !ok {
				continue
			}
			cur, ok := h.Get("stateVersion")
			if !ok || cur == rec.Value {
				continue
			}
			path := []string{"stateVersion"}
			d := lint.Diagnostic{Host: h.Name, Path: path,
				Message: fmt.Sprintf("%s: stateVersion is %v but the host was generated with %v; it must not change once installed", h.Name, quote(cur), quote(rec.Value))}
			if h.Where != nil {
				var layer string
				d.Range, layer = h.Where(path)
				if layer != "" {
					d.Related = append(d.Related, diag.Related{Range: d.Range, Message: "set by " + layer})
				}
			}
			d.Related = append(d.Related, diag.Related{Range: rec.Range, Message: "recorded here"})
			p.Report(d)
		}
		return nil
	},
}

// quote returns a value for a message, a string quoted.
func quote(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
