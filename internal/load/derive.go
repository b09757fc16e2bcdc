package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"

	"fleetnix.dev/fleet/internal/diag"
)

// derive is the fleet pass (pass 2 of DESIGN.md). Pass 1 gave every host
// its own facts (#Host.#facts: roles, exporters and their ports, cache
// keys, addresses). Here the schema's #FleetFacts aggregates them once,
// and #Derive computes, for each host from its own facts and the fleet's
// alone, the NixOS configuration the fleet gives it: monitoring targets
// on a monitoring server, substituters and keys on every host, and so on.
// No host's derivation evaluates another host's full configuration.
//
// A schema without #Derive has no fleet pass; derive then does nothing.
func derive(ctx context.Context, schemaCfg *load.Config, hosts []*Host) diag.List {
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
	n := min(runtime.NumCPU(), 8, len(hosts))
	type worker struct {
		ctx        *cue.Context
		def, fleet cue.Value
	}
	workers := make([]worker, 0, n)
	for range n {
		c := cuecontext.New()
		s, d := buildSchema(c, schemaCfg)
		if d != nil {
			return d
		}
		def := s.LookupPath(cue.ParsePath(string(DeriveDef)))
		if !def.Exists() {
			return nil
		}
		ff := s.LookupPath(cue.ParsePath(string(FleetFactsDef)))
		if !ff.Exists() {
			return diag.List{{Severity: diag.Error, Summary: fmt.Sprintf("the schema has %s but no %s", DeriveDef, FleetFactsDef)}}
		}
		// The fleet's facts are evaluated once per worker and shared by
		// every host's derivation.
		fleet := ff.Unify(c.CompileBytes(all))
		if err := fleet.Validate(cue.Concrete(true)); err != nil {
			return cueDiags(err, nil)
		}
		workers = append(workers, worker{c, def, fleet})
	}
	errs := make([]error, len(hosts))
	err = parallel(ctx, len(workers), len(hosts), func(wi, i int) {
		w, h := workers[wi], hosts[i]
		errs[i] = h.derive(w.ctx, w.def, w.fleet)
	})
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

// derive evaluates def (#Derive) for h with the fleet's facts and records
// the NixOS configuration it gives h.
func (h *Host) derive(ctx *cue.Context, def, fleet cue.Value) error {
	in, err := json.Marshal(map[string]any{"name": h.Name, "host": json.RawMessage(h.Facts)})
	if err != nil {
		return err
	}
	v := def.Unify(ctx.CompileBytes(in)).FillPath(cue.MakePath(cue.Str(fleetField)), fleet)
	// Validate what this host's derivation computed, not the fleet's
	// facts it was given: those were validated once, and checking them
	// again for every host would make the pass quadratic.
	it, err := v.Fields()
	if err != nil {
		return err
	}
	for it.Next() {
		if it.Selector().Unquoted() == fleetField {
			continue
		}
		if err := it.Value().Validate(cue.Concrete(true)); err != nil {
			return err
		}
	}
	out := v.LookupPath(cue.MakePath(cue.Def(nixosDef)))
	if err := out.Validate(cue.Concrete(true)); err != nil {
		return err
	}
	b, err := out.MarshalJSON()
	if err != nil {
		return err
	}
	if !bytes.Equal(b, []byte("{}")) {
		h.Derived = b
	}
	return nil
}

// fleetField is where #Derive receives the fleet's facts.
const fleetField = "fleet"

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
