package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// NoGC reports hosts without garbage collection or store optimisation.
var NoGC = &lint.Rule{
	ID:       "FV06",
	Name:     "no-gc",
	Severity: diag.Warning,
	Doc: `report a host without automatic garbage collection or store optimisation

fleet turns both on by default (nix.gc.enable, nix.optimise); a layer that
turns them off lets the store grow until the disk is full.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			if v, ok := h.Get("nix", "gc", "enable"); ok && v == false {
				p.Reportf(h, []string{"nix", "gc", "enable"}, "%s: automatic garbage collection is off", h.Name)
			}
			if v, ok := h.Get("nix", "optimise"); ok && v == false {
				p.Reportf(h, []string{"nix", "optimise"}, "%s: store optimisation is off", h.Name)
			}
		}
		return nil
	},
}
