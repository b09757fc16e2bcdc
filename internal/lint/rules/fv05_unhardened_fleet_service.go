package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// UnhardenedFleetService reports services in free-form nixos running as
// root or without hardening.
var UnhardenedFleetService = &lint.Rule{
	ID:       "FV05",
	Name:     "unhardened-fleet-service",
	Severity: diag.Warning,
	Doc: `report a service defined in a host's value that runs as root or without hardening

Checks nixos.systemd.services.<name>.serviceConfig as the host finally has
it, whichever layer set it: no DynamicUser and no User (or User "root"), or
none of NoNewPrivileges, ProtectSystem, ProtectHome, PrivateTmp,
CapabilityBoundingSet and SystemCallFilter. State the reason with a
suppression when root is needed.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			svcs := h.Map("nixos", "systemd", "services")
			for _, name := range sortedKeys(svcs) {
				sc := h.Map("nixos", "systemd", "services", name, "serviceConfig")
				if sc == nil {
					continue
				}
				var problems []string
				if u, _ := sc["User"].(string); sc["DynamicUser"] != true && (u == "" || u == "root") {
					problems = append(problems, "runs as root")
				}
				none := true
				for _, k := range hardening {
					if _, ok := sc[k]; ok {
						none = false
					}
				}
				if none {
					problems = append(problems, "has no hardening")
				}
				if len(problems) > 0 {
					p.Reportf(h, []string{"nixos", "systemd", "services", name, "serviceConfig"}, "%s: service %s %s", h.Name, name, strings.Join(problems, " and "))
				}
			}
		}
		return nil
	},
}
