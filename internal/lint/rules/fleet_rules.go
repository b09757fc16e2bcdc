package rules

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// Fleet value rules see each host's merged value. Numbers arrive as
// json.Number or float64; num reads either.
func num(v any) (int, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(string(v))
		return n, err == nil
	case float64:
		return int(v), true
	case int:
		return v, true
	}
	return 0, false
}

// walkValue calls f for every leaf of v with its path.
func walkValue(path []string, v any, f func(path []string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkValue(append(path[:len(path):len(path)], k), v[k], f)
		}
	case []any:
		for i, e := range v {
			walkValue(append(path[:len(path):len(path)], strconv.Itoa(i)), e, f)
		}
	default:
		f(path, v)
	}
}

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

// FirewallOff reports hosts whose firewall ends up disabled.
var FirewallOff = &lint.Rule{
	ID:       "FV02",
	Name:     "firewall-off",
	Severity: diag.Warning,
	Doc: `report a host whose firewall ends up disabled, and the layer that did it

The finding points at the value that won (a template, a profile, the host)
so that the fix goes where the decision was made, not where it shows.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			if v, ok := h.Get("network", "firewall", "enable"); ok && v == false {
				p.Reportf(h, []string{"network", "firewall", "enable"}, "%s: the firewall is disabled", h.Name)
			}
			if v, ok := h.Get("nixos", "networking", "firewall", "enable"); ok && v == false {
				p.Reportf(h, []string{"nixos", "networking", "firewall", "enable"}, "%s: the firewall is disabled in free-form nixos", h.Name)
			}
		}
		return nil
	},
}

// A listener is a service fleet knows listens on a port.
type listener struct {
	service string
	port    int
	path    []string
}

// listeners returns the ports the enabled services of h listen on.
func listeners(h *lint.Host) []listener {
	var out []listener
	add := func(service string, on bool, path ...string) {
		if !on {
			return
		}
		v, _ := h.Get(path...)
		if n, ok := num(v); ok {
			out = append(out, listener{service, n, path})
		}
	}
	add("ssh", h.Bool("network", "ssh", "enable"), "network", "ssh", "port")
	ai := h.Bool("features", "ai", "enable")
	add("ollama", ai && h.Bool("features", "ai", "ollama", "enable") && strOf(h, "features", "ai", "ollama", "host") != "127.0.0.1", "features", "ai", "ollama", "port")
	media := h.Bool("features", "media", "enable")
	add("nzbget", media && h.Bool("features", "media", "nzbget", "enable"), "features", "media", "nzbget", "port")
	add("tautulli", media && h.Bool("features", "media", "tautulli", "enable"), "features", "media", "tautulli", "port")
	for _, ex := range []string{"plex", "nzbget"} {
		add(ex+"-exporter", media && h.Bool("features", "media", "exporters", ex, "enable"), "features", "media", "exporters", ex, "port")
	}
	if media && h.Bool("features", "media", "plex", "enable") {
		out = append(out, listener{"plex", 32400, []string{"features", "media", "plex", "enable"}})
	}
	mon := h.Bool("features", "monitoring", "enable")
	for _, ex := range []string{"node", "systemd"} {
		add(ex+"-exporter", mon && h.Bool("features", "monitoring", "exporters", ex), "features", "monitoring", "ports", ex)
	}
	server := mon && strOf(h, "features", "monitoring", "role") == "server"
	for _, s := range []string{"prometheus", "grafana", "alertmanager"} {
		add(s, server, "features", "monitoring", "ports", s)
	}
	add("nix-serve", h.Bool("nix", "serve", "enable"), "nix", "serve", "port")
	return out
}

func strOf(h *lint.Host, path ...string) string {
	v, _ := h.Get(path...)
	s, _ := v.(string)
	return s
}

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
too, so suppress it with the reason.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			used := map[int]bool{}
			for _, l := range listeners(h) {
				used[l.port] = true
			}
			for _, proto := range []string{"allowedTCPPorts", "allowedUDPPorts"} {
				m := h.Map("network", "firewall", proto)
				for _, name := range sortedKeys(m) {
					if n, ok := num(m[name]); ok && !used[n] {
						p.Reportf(h, []string{"network", "firewall", proto, name}, "%s: port %d (%s) is open but no enabled service listens on it", h.Name, n, name)
					}
				}
			}
		}
		return nil
	},
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

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

// monitoringServers returns the hosts that run the monitoring server.
func monitoringServers(hosts []*lint.Host) map[string]bool {
	out := map[string]bool{}
	for _, h := range hosts {
		if h.Bool("features", "monitoring", "enable") && strOf(h, "features", "monitoring", "role") == "server" {
			out[h.Name] = true
		}
	}
	return out
}

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
