package rules

import (
	"fmt"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// PortCollision reports two enabled services of one host on one port.
var PortCollision = &lint.Rule{
	ID:       "FV04",
	Name:     "port-collision",
	Severity: diag.Error,
	Doc: `report two enabled services of one host that listen on the same port

The second one fails to start at boot, usually with nothing more than
"address already in use" in its journal. The services and their ports
are those the schema computes for the host (#Host.#listeners): every
port the schema configures, with the address each service binds, so
that Ollama on 127.0.0.1 and a service on another address do not
collide while two on every address do. fleetgen vet reports the same.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			for i, l := range h.Listeners {
				for _, o := range h.Listeners[:i] {
					if o.Overlaps(l) {
						p.Reportf(h, collisionPath(h, o, l), "%s", PortCollisionMessage(h.Name, o, l))
						break
					}
				}
			}
		}
		return nil
	},
}

// PortCollisionMessage says that listeners a and b of host collide.
func PortCollisionMessage(host string, a, b lint.Listener) string {
	where := ""
	switch {
	case a.Wildcard() && b.Wildcard():
	case a.Wildcard():
		where = fmt.Sprintf(" (%s on every address, %s on %s)", a.Service, b.Service, b.Address)
	case b.Wildcard():
		where = fmt.Sprintf(" (%s on %s, %s on every address)", a.Service, a.Address, b.Service)
	default:
		where = " at " + a.Address
	}
	return fmt.Sprintf("%s: %s and %s both listen on %s port %d%s", host, a.Service, b.Service, strings.ToUpper(a.Protocol), a.Port, where)
}

// collisionPath is where to report listeners a and b colliding: at the
// port the user set, b's when both or neither are.
func collisionPath(h *lint.Host, a, b lint.Listener) []string {
	if h.Leaves == nil || len(h.Leaves(b.Path)) > 0 || len(h.Leaves(a.Path)) == 0 {
		return b.Path
	}
	return a.Path
}
