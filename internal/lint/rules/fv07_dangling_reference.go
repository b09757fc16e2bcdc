package rules

import (
	"fmt"
	"net/url"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// DanglingReference reports references to hosts and secrets that do not
// serve what is asked of them.
var DanglingReference = &lint.Rule{
	ID:       "FV07",
	Name:     "dangling-reference",
	Severity: diag.Error,
	Doc: `report references that lead nowhere: monitoring servers, caches and secrets

A monitoring client whose serverHost does not run the monitoring server
sends its metrics nowhere; a substituter naming a fleet host that serves no
cache fails every download; a declared secret that no host uses is an
encrypted file nobody can account for (warning).`,
	RunFleet: func(p *lint.FleetPass) error {
		servers := monitoringServers(p.Hosts)
		byName := map[string]*lint.Host{}
		for _, h := range p.Hosts {
			byName[h.Name] = h
		}
		used := map[string]bool{}
		for _, h := range p.Hosts {
			if h.Bool("features", "monitoring", "enable") && strOf(h, "features", "monitoring", "role") == "client" {
				if s := strOf(h, "features", "monitoring", "serverHost"); s != "" && !servers[s] {
					p.Reportf(h, []string{"features", "monitoring", "serverHost"}, "%s: monitoring server %q does not run the monitoring server", h.Name, s)
				}
			}
			subs := h.Map("nix", "substituters")
			for _, u := range sortedKeys(subs) {
				pu, err := url.Parse(u)
				if err != nil {
					continue
				}
				host := strings.Split(pu.Hostname(), ".")[0]
				if o := byName[host]; o != nil && !o.Bool("nix", "serve", "enable") {
					p.Reportf(h, []string{"nix", "substituters", u}, "%s: substituter %s is host %s, which serves no cache", h.Name, u, host)
				}
			}
			walkValue(nil, h.Value, func(path []string, v any) {
				if len(path) > 0 && path[len(path)-1] == "$secret" {
					if s, ok := v.(string); ok {
						used[s] = true
					}
				}
			})
		}
		secrets, _ := p.Fleet["secrets"].(map[string]any)
		for _, name := range sortedKeys(secrets) {
			if !used[name] && len(p.Hosts) > 0 {
				d := lint.Diagnostic{Path: []string{"secrets", name}, Message: fmt.Sprintf("secret %q is declared but no host uses it", name)}
				p.Report(d.WithSeverity(diag.Warning))
			}
		}
		return nil
	},
}
