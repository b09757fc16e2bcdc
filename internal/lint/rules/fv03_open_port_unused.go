package rules

import (
	"fmt"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// OpenPortUnused reports firewall ports no known service listens on.
var OpenPortUnused = &lint.Rule{
	ID:       "FV03",
	Name:     "open-port-unused",
	Severity: diag.Warning,
	Doc: `report a port opened in the firewall that no enabled service listens on

A port left open after its service was switched off, or opened for a
service on another host, is attack surface for nothing. Services fleet
knows (ssh, the features' daemons and exporters, nix-serve) are checked;
a port opened for a service configured only in free-form nixos is reported
too, so suppress it with the reason. The services and ports are those the
schema computes for the host (#Host.#listeners), as for FV04.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			used := map[string]bool{}
			for _, l := range h.Listeners {
				used[fmt.Sprint(l.Protocol, l.Port)] = true
			}
			for _, proto := range []string{"allowedTCPPorts", "allowedUDPPorts"} {
				m := h.Map("network", "firewall", proto)
				pr := map[string]string{"allowedTCPPorts": "tcp", "allowedUDPPorts": "udp"}[proto]
				for _, name := range sortedKeys(m) {
					if n, ok := num(m[name]); ok && !used[fmt.Sprint(pr, n)] {
						p.Reportf(h, []string{"network", "firewall", proto, name}, "%s: port %d (%s) is open but no enabled service listens on it", h.Name, n, name)
					}
				}
			}
		}
		return nil
	},
}
