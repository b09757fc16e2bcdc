package rules

import (
	"fmt"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// InsecureCache reports substituters over HTTP or without a key.
var InsecureCache = &lint.Rule{
	ID:       "FV10",
	Name:     "insecure-cache",
	Severity: diag.Error,
	Doc: `report a substituter over plain HTTP or without a trusted public key

Over HTTP anyone on the path can serve other store paths; without a public
key Nix cannot check signatures and refuses the paths, or, with
require-sigs off, accepts anything. A substituter without a key is a
warning; one over http:// is an error.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			subs := h.Map("nix", "substituters")
			for _, u := range sortedKeys(subs) {
				path := []string{"nix", "substituters", u}
				if strings.HasPrefix(u, "http://") {
					p.Reportf(h, path, "%s: substituter %s uses plain HTTP", h.Name, u)
				}
				if m, _ := subs[u].(map[string]any); m == nil || m["publicKey"] == nil {
					d := lint.Diagnostic{Host: h.Name, Path: path, Message: fmt.Sprintf("%s: substituter %s has no public key", h.Name, u)}
					if h.Where != nil {
						d.Range, _ = h.Where(path)
					}
					p.Report(d.WithSeverity(diag.Warning))
				}
			}
		}
		return nil
	},
}
