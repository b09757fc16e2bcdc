package rules

// Helpers shared by the fleet value rules (FV01-FV12).

import (
	"encoding/json"
	"sort"
	"strconv"

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

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
