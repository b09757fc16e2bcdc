package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// PortCollision reports two enabled services on one port.
var PortCollision = &lint.Rule{
	ID:       "FV04",
	Name:     "port-collision",
	Severity: diag.Error,
	Doc: `report two enabled services of one host that listen on the same port

The second one fails to start at boot, usually with nothing more than
"address already in use" in its journal.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			seen := map[int]listener{}
			for _, l := range listeners(h) {
				if o, dup := seen[l.port]; dup {
					p.Reportf(h, l.path, "%s: %s and %s both listen on port %d", h.Name, o.service, l.service, l.port)
					continue
				}
				seen[l.port] = l
			}
		}
		return nil
	},
}
