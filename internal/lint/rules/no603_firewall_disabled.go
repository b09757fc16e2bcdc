package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// FirewallDisabled reports networking.firewall.enable = false.
var FirewallDisabled = &lint.Rule{
	ID:       "NO603",
	Name:     "firewall-disabled",
	Severity: diag.Warning,
	Doc: `report networking.firewall.enable = false

Every port any service opens is then reachable from every network the
host joins. Open the ports that must be open instead
(networking.firewall.allowedTCPPorts, or a service's openFirewall). In a
fleet, FV02 names the layer that turned the firewall off. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			if d.is("networking.firewall.enable") && identName(d.value) == "false" {
				p.ReportRangef(d.attr, "the firewall is disabled")
			}
		}
		return nil
	},
}
