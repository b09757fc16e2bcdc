package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// WorldReadableSecret reports decrypted secrets others may read.
var WorldReadableSecret = &lint.Rule{
	ID:       "FV09",
	Name:     "world-readable-secret",
	Severity: diag.Error,
	Doc: `report a secret decrypted with a mode that lets other users read it

Declared secrets are checked by the schema (the last digit of mode must be
0); this rule checks age.secrets set in free-form nixos, where the schema
cannot look.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			secrets := h.Map("nixos", "age", "secrets")
			for _, name := range sortedKeys(secrets) {
				mode := strOf(h, "nixos", "age", "secrets", name, "mode")
				if mode != "" && mode[len(mode)-1] != '0' {
					p.Reportf(h, []string{"nixos", "age", "secrets", name, "mode"}, "%s: secret %s is decrypted with mode %s, readable by other users", h.Name, name, mode)
				}
			}
		}
		return nil
	},
}
