package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/load"

	"fleetnix.dev/fleet/internal/diag"
)

// derive is the fleet pass (pass 2 of DESIGN.md). Pass 1 gave every host
// its own facts (#Host.#facts: roles, exporters and their ports, cache
// keys, addresses). Here the schema's #FleetFacts aggregates them once,
// and #Derive computes, for each host from its own facts and the fleet's
// computed facts alone, the NixOS configuration the fleet gives it:
// monitoring targets on a monitoring server, substituters and keys on
// every host, and so on. No host's derivation evaluates another host's
// full configuration, nor even the fleet's facts of every host: it gets
// the fields #FleetFacts computes for all hosts (not `hosts`) and its own
// entry of #FleetFacts.perHost.
//
// A schema without #Derive has no fleet pass; derive then does nothing.
func derive(ctx context.Context, schemaCfg *load.Config, c *cache, hosts []*Host) diag.List {
	facts := map[string]json.RawMessage{}
	for _, h := range hosts {
		if h.Facts == nil {
			return nil
		}
		facts[h.Name] = h.Facts
	}
	all, err := json.Marshal(map[string]any{"hosts": facts})
	if err != nil {
		return diag.List{{Severity: diag.Error, Summary: err.Error()}}
	}
	workers := newWorkers(min(runtime.NumCPU(), 8, len(hosts)), schemaCfg)
	// The fleet's facts are evaluated once (from the hosts' shares, on
	// the workers, when the schema allows: see derive_facts.go) and
	// handed to every derivation as data.
	var ff fleetFacts
	key := c.key("fleet", all)
	if !c.get(key, &ff) {
		var d diag.List
		if ff, d = fleetFactsOf(ctx, workers, hosts, all); d != nil {
			return d
		}
		c.put(key, &ff)
	}
	if !ff.Derive {
		return nil
	}
	errs, err := deriveAll(ctx, c, workers, hosts, &ff)
	if err == nil {
		err = initErr(workers)
	}
	if err != nil {
		return diag.List{{Severity: diag.Error, Summary: err.Error()}}
	}
	var diags diag.List
	for i, h := range hosts {
		if errs[i] != nil {
			diags = append(diags, deriveDiags(h, errs[i])...)
		}
	}
	return diags
}

// fleetFacts are the evaluated #FleetFacts as data: whether the schema
// has a fleet pass at all, the fields every host's derivation gets, and
// each host's own entry of perHost.
type fleetFacts struct {
	Derive  bool
	Shared  json.RawMessage
	PerHost map[string]json.RawMessage
}

func (ff fleetFacts) parts() [][]byte {
	if !ff.Derive {
		return nil
	}
	out := [][]byte{ff.Shared}
	for _, n := range slices.Sorted(maps.Keys(ff.PerHost)) {
		out = append(out, []byte(n), ff.PerHost[n])
	}
	return out
}

func (ff *fleetFacts) setParts(p [][]byte) bool {
	if len(p) == 0 {
		*ff = fleetFacts{}
		return true
	}
	if len(p)%2 == 0 {
		return false
	}
	*ff = fleetFacts{Derive: true, Shared: p[0], PerHost: map[string]json.RawMessage{}}
	for i := 1; i < len(p); i += 2 {
		ff.PerHost[string(p[i])] = p[i+1]
	}
	return true
}

// derived is a host's derivation as the cache keeps it.
type derived struct {
	NixOS []byte
}

func (d derived) parts() [][]byte { return [][]byte{d.NixOS} }

func (d *derived) setParts(p [][]byte) bool {
	if len(p) != 1 {
		return false
	}
	d.NixOS = p[0]
	return true
}

// evalFleetFacts evaluates #FleetFacts with every host's facts (all) in
// w's context.
func evalFleetFacts(w *worker, all []byte) (fleetFacts, diag.List) {
	var ff fleetFacts
	if err := w.init(); err != nil {
		return ff, diag.List{{Severity: diag.Error, Summary: err.Error()}}
	}
	if !w.def(DeriveDef).Exists() {
		return ff, nil
	}
	def := w.def(FleetFactsDef)
	if !def.Exists() {
		return ff, diag.List{{Severity: diag.Error, Summary: fmt.Sprintf("the schema has %s but no %s", DeriveDef, FleetFactsDef)}}
	}
	fleet := def.Unify(w.ctx.CompileBytes(all))
	if err := fleet.Validate(cue.Concrete(true)); err != nil {
		return ff, cueDiags(err, nil)
	}
	b, err := fleet.MarshalJSON()
	if err != nil {
		return ff, diag.List{{Severity: diag.Error, Summary: err.Error()}}
	}
	shared, perHost, err := splitFleetJSON(b)
	if err != nil {
		return ff, diag.List{{Severity: diag.Error, Summary: err.Error()}}
	}
	return fleetFacts{Derive: true, Shared: shared, PerHost: perHost}, nil
}

// derive evaluates #Derive for h in w with the fleet's shared facts and
// its own, and records the NixOS configuration it gives h.
func (h *Host) derive(w *worker, shared, own json.RawMessage) error {
	b, err := evalDerive(w, h.Name, h.Facts, shared, own)
	if err != nil {
		return err
	}
	h.Derived = b
	return nil
}

// evalDerive evaluates #Derive in w for the host name with its facts,
// the fleet's shared facts and its own entry of perHost, and returns the
// NixOS configuration it gives the host as JSON, nil when that is empty.
func evalDerive(w *worker, name string, facts, shared, own json.RawMessage) ([]byte, error) {
	in, err := json.Marshal(map[string]any{"name": name, "host": facts, ownField: own, fleetField: shared})
	if err != nil {
		return nil, err
	}
	v := w.def(DeriveDef).Unify(w.ctx.CompileBytes(in))
	// Validate what this host's derivation computed, not the fleet's
	// facts it was given: those were validated once.
	it, err := v.Fields()
	if err != nil {
		return nil, err
	}
	for it.Next() {
		if it.Selector().Unquoted() == fleetField {
			continue
		}
		if err := it.Value().Validate(cue.Concrete(true)); err != nil {
			return nil, err
		}
	}
	out := v.LookupPath(cue.MakePath(cue.Def(nixosDef)))
	if err := out.Validate(cue.Concrete(true)); err != nil {
		return nil, err
	}
	b, err := out.MarshalJSON()
	if err != nil || bytes.Equal(b, []byte("{}")) {
		return nil, err
	}
	return b, nil
}

// Where #Derive receives the fleet's shared facts and the host's own,
// and the field of #FleetFacts that holds each host's own.
const (
	fleetField   = "fleet"
	ownField     = "own"
	perHostField = "perHost"
)

// deriveDiags reports a failed derivation at the host: what the fleet
// pass rejects (a monitoring client pointing at a host that is not a
// monitoring server) is a fact of the host's own configuration.
func deriveDiags(h *Host, err error) diag.List {
	var out diag.List
	for _, d := range cueDiags(err, nil) {
		d.Range = h.Decl
		d.Summary = fmt.Sprintf("hosts.%s: fleet pass: %s", h.Name, strings.TrimPrefix(d.Summary, string(DeriveDef)+"."))
		d.Path = append([]string{string(HostsPath), h.Name}, d.Path...)
		out = append(out, d)
	}
	return out
}
