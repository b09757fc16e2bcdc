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
// computed facts alone, the NixOS configuration the fleet gives it:
// monitoring targets on a monitoring server, substituters and keys on
// every host, and so on. No host's derivation evaluates another host's
// full configuration, nor even the fleet's facts of every host: it gets
// the fields #FleetFacts computes for all hosts (not `hosts`) and its own
// entry of #FleetFacts.perHost.
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
		ctx         *cue.Context
		def, shared cue.Value
	}
	workers := make([]worker, 0, n)
	var perHost map[string]json.RawMessage
	var shared []byte
	for i := range n {
		c := cuecontext.New()
		s, d := buildSchema(c, schemaCfg)
		if d != nil {
			return d
		}
		def := s.LookupPath(cue.ParsePath(string(DeriveDef)))
		if !def.Exists() {
			return nil
		}
		if i == 0 {
			// The fleet's facts are evaluated once, in the first
			// worker's context, and handed to the others as data.
			ff := s.LookupPath(cue.ParsePath(string(FleetFactsDef)))
			if !ff.Exists() {
				return diag.List{{Severity: diag.Error, Summary: fmt.Sprintf("the schema has %s but no %s", DeriveDef, FleetFactsDef)}}
			}
			fleet := ff.Unify(c.CompileBytes(all))
			if err := fleet.Validate(cue.Concrete(true)); err != nil {
				return cueDiags(err, nil)
			}
			if shared, perHost, err = splitFleetFacts(fleet); err != nil {
				return diag.List{{Severity: diag.Error, Summary: err.Error()}}
			}
		}
		workers = append(workers, worker{c, def, c.CompileBytes(shared)})
	}
	errs := make([]error, len(hosts))
	err = parallel(ctx, len(workers), len(hosts), func(wi, i int) {
		w, h := workers[wi], hosts[i]
		errs[i] = h.derive(w.ctx, w.def, w.shared, perHost[h.Name])
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

// splitFleetFacts returns, as JSON, the fields of the evaluated
// #FleetFacts every host gets (all but hosts and perHost) and each host's
// own entry of perHost.
func splitFleetFacts(fleet cue.Value) ([]byte, map[string]json.RawMessage, error) {
	b, err := fleet.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil, err
	}
	var perHost map[string]json.RawMessage
	if p, ok := fields[perHostField]; ok {
		if err := json.Unmarshal(p, &perHost); err != nil {
			return nil, nil, err
		}
	}
	delete(fields, perHostField)
	delete(fields, "hosts")
	shared, err := json.Marshal(fields)
	return shared, perHost, err
}

// derive evaluates def (#Derive) for h with the fleet's shared facts and
// its own, and records the NixOS configuration it gives h.
func (h *Host) derive(ctx *cue.Context, def, shared cue.Value, own json.RawMessage) error {
	if own == nil {
		own = json.RawMessage("{}")
	}
	in, err := json.Marshal(map[string]any{"name": h.Name, "host": json.RawMessage(h.Facts), ownField: own})
	if err != nil {
		return err
	}
	v := def.Unify(ctx.CompileBytes(in)).FillPath(cue.MakePath(cue.Str(fleetField)), shared)
	// Validate what this host's derivation computed, not the fleet's
	// facts it was given: those were validated once.
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
