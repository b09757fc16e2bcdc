package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// FirewallOff reports hosts whose firewall ends up disabled.
var FirewallOff = &lint.Rule{
	ID:       "FV02",
	Name:     "firewall-off",
	Severity: diag.Warning,
	Doc: `report a host whose firewall ends up disabled, and the layer that did it

The finding points at the value that won (a template, a profile, the host)
so that the fix goes where the decision was made, not where it shows.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			if v, ok := h.Get("network", "firewall", "enable"); ok && v == false {
				p.Reportf(h, []string{"network", "firewall", "enable"}, "%s: the firewall is disabled", h.Name)
			}
			if v, ok := h.Get("nixos", "networking", "firewall", "enable"); ok && v == false {
				p.Reportf(h, []string{"nixos", "networking", "firewall", "enable"}, "%s: the firewall is disabled in free-form nixos", h.Name)
			}
		}
		return nil
	},
}
