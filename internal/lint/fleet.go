package lint

import (
	"fmt"

	"fleetnix.dev/fleet/internal/diag"
)

// A Host is one host's merged value as fleet rules see it: plain data
// (map[string]any, []any, string, bool, nil and numbers) and a way to find
// where a value was set. Hosts are read-only to rules.
type Host struct {
	Name  string
	Value map[string]any
	// Where returns the source range that set the value at path, and a
	// description of the layer (`template "server"`), when known. For a
	// value no layer set (the schema's default) the layer is "" and the
	// range is where the user would set it: the nearest struct above it
	// they wrote, else the host.
	Where func(path []string) (diag.Range, string)
	// Recorded holds values the host's previously generated NixOS
	// configuration set, keyed by option path ("system.stateVersion"),
	// when fleet found that configuration; nil otherwise.
	Recorded map[string]Recorded
	// Fixed are the paths a template or profile marks as fixed: values
	// hosts must not override.
	Fixed []Fixed
	// Leaves returns, when known, what the merge of the host's layers
	// recorded of every leaf at or below path.
	Leaves func(path []string) []Leaf
	// Listeners are the sockets the host's enabled services listen on,
	// as the schema computes them (#Host.#listeners), sorted by port.
	Listeners []Listener
	// NixOS is the host's NixOS configuration as fleet computes it
	// (features and free-form nixos together), as plain data with fleet's
	// markers ({$force: …}, {$nix: …}) kept; nil when the fleet was loaded
	// without it.
	NixOS map[string]any
}

// A Listener is a socket a service of a host listens on.
type Listener struct {
	// Service names the service for people ("Loki (gRPC)").
	Service string
	// Port and Protocol ("tcp" or "udp") say where it listens.
	Port     int
	Protocol string
	// Address is the address it binds; "", "0.0.0.0" or "::" for every
	// address of the host.
	Address string
	// Path is the host's field that sets the port, or that turns the
	// service on when its port is fixed.
	Path []string
}

// Wildcard reports whether l listens on every address of the host.
func (l Listener) Wildcard() bool {
	switch l.Address {
	case "", "0.0.0.0", "::", "[::]", "*":
		return true
	}
	return false
}

// Overlaps reports whether l and m cannot both bind: one port and
// protocol, on one address or with either on every address.
func (l Listener) Overlaps(m Listener) bool {
	return l.Port == m.Port && l.Protocol == m.Protocol && (l.Address == m.Address || l.Wildcard() || m.Wildcard())
}

// A Fixed is a path of a host's value a layer marks as fixed.
type Fixed struct {
	Path []string
	// Layer is the layer that fixes it (`template "server"`).
	Layer string
	// Range is where it is marked fixed.
	Range diag.Range
}

// A Leaf is one leaf of a host's value with its provenance: the value
// that won and those it overrode, lowest layer first.
type Leaf struct {
	Path       []string
	Set        Origin
	Overridden []Origin
}

// An Origin is a value one layer gave a leaf.
type Origin struct {
	// Kind is the kind of layer ("template", "profile", "host"), Layer
	// the layer itself (`profile "developer"`).
	Kind, Layer string
	Range       diag.Range
	Value       any
	// Doc says whether a doc comment explains the value.
	Doc bool
}

// A Recorded is a value read from a previously generated file, and where
// it is written there.
type Recorded struct {
	Value any
	Range diag.Range
}

// Get returns the value at path below the host's root, and whether it
// exists.
func (h *Host) Get(path ...string) (any, bool) {
	var v any = h.Value
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Bool returns the boolean at path, or false.
func (h *Host) Bool(path ...string) bool {
	v, _ := h.Get(path...)
	b, _ := v.(bool)
	return b
}

// Map returns the struct at path, or nil.
func (h *Host) Map(path ...string) map[string]any {
	v, _ := h.Get(path...)
	m, _ := v.(map[string]any)
	return m
}

// A FleetPass is one fleet rule running over every host of a fleet.
type FleetPass struct {
	Rule  *Rule
	Hosts []*Host
	// Fleet holds the fleet's own values as plain data: "settings" and
	// "secrets" (declared secrets by name).
	Fleet map[string]any
	// Report records a diagnostic.
	Report func(Diagnostic)
}

// A FleetWhere returns where a fleet-level value (a declared secret at
// ["secrets", name]) is declared, or the zero Range.
type FleetWhere func(path []string) diag.Range

// Reportf reports a finding about the value at path of host h, placed
// where that value was set.
func (p *FleetPass) Reportf(h *Host, path []string, format string, args ...any) {
	d := Diagnostic{Host: h.Name, Path: path, Message: fmt.Sprintf(format, args...)}
	if h.Where != nil {
		var layer string
		d.Range, layer = h.Where(path)
		if layer != "" {
			d.Related = append(d.Related, diag.Related{Range: d.Range, Message: "set by " + layer})
		}
	}
	p.Report(d)
}

// RunFleet runs the fleet rules among rules over hosts and returns their
// findings sorted by position and host.
// A finding about the fleet rather than a host, reported without a range,
// is placed by where when it is not nil.
func RunFleet(rules []*Rule, hosts []*Host, fleet map[string]any, where FleetWhere) []Diagnostic {
	var out []Diagnostic
	for _, r := range rules {
		if r.RunFleet == nil {
			continue
		}
		pass := &FleetPass{Rule: r, Hosts: hosts, Fleet: fleet}
		pass.Report = func(d Diagnostic) {
			d.Rule = r
			if d.Host == "" && !d.Range.Start.IsValid() && where != nil && len(d.Path) > 0 {
				d.Range = where(d.Path)
			}
			if !d.sevSet {
				d.Severity = r.Severity
			}
			out = append(out, d)
		}
		if err := r.RunFleet(pass); err != nil {
			out = append(out, Diagnostic{Rule: r, Severity: diag.Error, Message: "rule failed: " + err.Error()})
		}
	}
	sortDiags(out)
	return out
}
