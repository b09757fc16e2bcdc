package rules

// Helpers shared by the fleet value rules (FV01-FV12).

import (
	"encoding/json"
	"slices"
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

// walkValue calls f for every leaf of v with its path, a slice of f's
// own. One slice serves the walk and is copied only for f, so that a walk
// costs what v holds and not the square of its depth.
func walkValue(path []string, v any, f func(path []string, v any)) {
	walkValueIn(append(make([]string, 0, len(path)+16), path...), v, f)
}

func walkValueIn(path []string, v any, f func(path []string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkValueIn(append(path, k), v[k], f)
		}
	case []any:
		for i, e := range v {
			walkValueIn(append(path, strconv.Itoa(i)), e, f)
		}
	default:
		f(slices.Clone(path), v)
	}
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
