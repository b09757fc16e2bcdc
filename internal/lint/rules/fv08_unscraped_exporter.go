package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// UnscrapedExporter reports exporters no monitoring server collects.
var UnscrapedExporter = &lint.Rule{
	ID:       "FV08",
	Name:     "unscraped-exporter",
	Severity: diag.Warning,
	Doc: `report a host running metrics exporters when no host of the fleet scrapes them

fleet derives the server's scrape targets from the hosts, so an exporter is
scraped exactly when some host runs the monitoring server.`,
	RunFleet: func(p *lint.FleetPass) error {
		if len(monitoringServers(p.Hosts)) > 0 {
			return nil
		}
		for _, h := range p.Hosts {
			if h.Bool("features", "monitoring", "enable") {
				p.Reportf(h, []string{"features", "monitoring", "enable"}, "%s: exporters run but no host runs the monitoring server", h.Name)
			}
		}
		return nil
	},
}
