package rules

import (
	"regexp"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

var literalSecretKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|private_?key|jwt)$`)

// LiteralSecret reports secrets given as literal strings in host values.
var LiteralSecret = &lint.Rule{
	ID:       "FV01",
	Name:     "literal-secret",
	Severity: diag.Error,
	Doc: `report a password, token or key given as a literal string in a host's value

The schema already refuses literals in the fields it knows hold secrets;
this catches them where it cannot look: free-form nixos values and raw
#Nix. A literal ends up in the world-readable Nix store. Use a #SecretRef
and the option's …File variant.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			walkValue(nil, h.Value, func(path []string, v any) {
				s, ok := v.(string)
				if !ok || len(path) == 0 || len(s) < 4 || strings.HasPrefix(s, "/") {
					return
				}
				last := path[len(path)-1]
				if strings.HasPrefix(last, "$") {
					return // a marker: #SecretRef, #Nix, #PkgRef
				}
				if literalSecretKey.MatchString(last) && !notSecretRx.MatchString(last) {
					p.Reportf(h, path, "%s: %s is a literal secret; use a #SecretRef", h.Name, strings.Join(path, "."))
				}
			})
		}
		return nil
	},
}
