package load

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"

	"fleetnix.dev/fleet/internal/diag"
)

// The fleet's facts (#FleetFacts) made from each host's share.
//
// #FleetFacts was one CUE evaluation over every host's facts: serial, and
// at 10,000 hosts 6 CPU-s of unifying each host's facts with #Facts and
// running the comprehensions over them. When the schema's #FleetFacts is
// an aggregate of each host's own share (perHostAggregate: every field
// but hosts is a struct built by comprehensions that start with `for n, h
// in F.hosts` and read nothing else of the fleet), the whole is the
// unification of those shares, since unification is associative,
// commutative and idempotent: each host's share is evaluated alone (on
// the workers), once per distinct facts up to the host's name (the name
// replaced by passName, as the fleet pass's derivations are shared; see
// derive_names.go), and the shares are merged in Go in the order the
// whole evaluation visits the hosts (by name). The merged facts are then
// checked against #FleetFacts with no hosts (what a field's constraints
// say of the whole, e.g. a struct's number of fields, is checked on the
// whole). Whenever anything of that fails — a share's evaluation, a
// conflict between two shares, a field that is not a struct, a key that
// JSON must escape, the check — the whole evaluation is made instead, so
// that errors are exactly its errors (TestFleetFactsShared holds the
// merged result to the whole evaluation's, byte for byte).

// shareFacts turns the sharing of #FleetFacts on; tests turn it off to
// compare with the whole evaluation.
var shareFacts = true

// minFactsShared is the number of hosts from which #FleetFacts is made
// from shares: below it, the whole evaluation costs less than the shares'
// and the check.
var minFactsShared = 64

// factsShared counts the hosts whose share of #FleetFacts was evaluated
// for another host alike, and factsMerged the #FleetFacts made from
// shares (for tests).
var factsShared, factsMerged atomic.Int64

// fleetFactsOf evaluates #FleetFacts for hosts, whose facts are all (as
// derive builds them): from the hosts' shares when it can, whole
// otherwise.
func fleetFactsOf(ctx context.Context, workers []worker, hosts []*Host, all []byte) (fleetFacts, diag.List) {
	w := &workers[0]
	if !shareFacts || len(hosts) < minFactsShared || w.init() != nil ||
		!w.def(DeriveDef).Exists() || !perHostAggregate(w.def(FleetFactsDef)) {
		return evalFleetFacts(w, all)
	}
	if ff, ok := fleetFactsShared(ctx, workers, hosts); ok {
		return ff, nil
	}
	return evalFleetFacts(w, all)
}

// A factsUnit is one evaluation of a share of #FleetFacts: of the hosts
// with their own names, together, when free is nil (hosts with no other
// alike, next to each other in the order of names, so that their share
// is merged where the whole evaluation visits them), of the facts free
// (the name replaced by passName) for every host of hosts otherwise.
type factsUnit struct {
	hosts []int
	free  []byte
}

// factsChunk bounds the hosts with no other alike evaluated together.
const factsChunk = 64

// factsUnits returns the evaluations of #FleetFacts's shares of hosts,
// whose order by name is order: a unit per group of hosts alike but for
// the name, and the hosts between them in chunks.
func factsUnits(hosts []*Host, order []int) []factsUnit {
	free := make([][]byte, len(hosts))
	count := map[string]int{}
	for i, h := range hosts {
		if f, ok := freeFacts(h); ok {
			free[i] = f
			count[string(f)]++
		}
	}
	var units []factsUnit
	group := map[string]int{}
	chunk := -1 // the chunk the next lone host may join
	for _, i := range order {
		if f := free[i]; f != nil && count[string(f)] > 1 {
			chunk = -1
			if u, seen := group[string(f)]; seen {
				units[u].hosts = append(units[u].hosts, i)
				continue
			}
			group[string(f)] = len(units)
			units = append(units, factsUnit{hosts: []int{i}, free: f})
			continue
		}
		if chunk < 0 || len(units[chunk].hosts) == factsChunk {
			chunk = len(units)
			units = append(units, factsUnit{})
		}
		units[chunk].hosts = append(units[chunk].hosts, i)
	}
	return units
}

// fleetFactsShared makes #FleetFacts from the hosts' shares, and reports
// false when it cannot (see above).
func fleetFactsShared(ctx context.Context, workers []worker, hosts []*Host) (fleetFacts, bool) {
	// The whole evaluation visits the hosts in the order of their names
	// (derive gives it a JSON object, whose keys encoding/json sorts);
	// the shares are merged in that order.
	order := make([]int, len(hosts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(hosts[a].Name, hosts[b].Name) })
	units := factsUnits(hosts, order)
	shares := make([]share, len(hosts))
	var failed atomic.Bool
	err := parallel(ctx, len(workers), len(units), func(wi, ui int) {
		if failed.Load() {
			return
		}
		w := &workers[wi]
		if w.init() != nil {
			failed.Store(true)
			return
		}
		if !evalShares(w, hosts, units[ui], shares) {
			failed.Store(true)
		}
	})
	if err != nil || failed.Load() {
		return fleetFacts{}, false
	}
	root := &jsonObject{}
	for _, i := range order {
		sh := shares[i]
		if sh.obj == nil {
			continue // in the share of the hosts before it
		}
		from := ""
		if sh.name != "" {
			from = passName
		}
		if !root.merge(sh.obj, from, sh.name) {
			return fleetFacts{}, false
		}
	}
	var b bytes.Buffer
	if !root.write(&b) {
		return fleetFacts{}, false
	}
	merged := b.Bytes()
	// What the fields' constraints say of the whole, the hosts left out:
	// in a context that does not close definitions, since a field of a
	// comprehension over no hosts is not allowed in a closed one.
	w := worker{cfg: workers[0].cfg, opts: []cuecontext.Option{cuecontext.CUE_DEBUG("opendef")}}
	if w.init() != nil {
		return fleetFacts{}, false
	}
	check := append([]byte(`{"hosts":{}`), merged[1:]...)
	if len(root.keys) > 0 {
		check = append([]byte(`{"hosts":{},`), merged[1:]...)
	}
	if w.def(FleetFactsDef).Unify(w.ctx.CompileBytes(check)).Validate(cue.Concrete(true)) != nil {
		return fleetFacts{}, false
	}
	shared, perHost, err := splitFleetJSON(merged)
	if err != nil {
		return fleetFacts{}, false
	}
	factsMerged.Add(1)
	return fleetFacts{Derive: true, Shared: shared, PerHost: perHost}, true
}

// freeFacts returns h's facts with its name replaced by passName, and
// reports false when they cannot be shared: the name is no #HostName, or
// occurs in them other than as a whole string value, or they hold a
// placeholder.
func freeFacts(h *Host) ([]byte, bool) {
	if !hostNameRx.MatchString(h.Name) || bytes.Contains(h.Facts, []byte(passName)) || bytes.Contains(h.Facts, []byte(passName2)) {
		return nil, false
	}
	return renamed(h.Facts, h.Name, passName, false)
}

// A share is a share of #FleetFacts parsed, without hosts: name is the
// host's name to put for passName in it, "" when it has its own names.
type share struct {
	obj  *jsonObject
	name string
}

// parseShare parses the share b, and reports false when it is not an
// object whose fields are objects (but hosts, which it leaves out): such
// a field is not the union of the hosts' shares.
func parseShare(b []byte) (*jsonObject, bool) {
	o, ok := parseObject(b)
	if !ok {
		return nil, false
	}
	delete(o.vals, "hosts")
	o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == "hosts" })
	for _, k := range o.keys {
		if _, ok := o.vals[k].(*jsonObject); !ok {
			return nil, false
		}
	}
	return o, true
}

// evalShares evaluates the shares of #FleetFacts of the hosts of u in w
// into shares, and reports false when one fails. A shared unit is
// evaluated with passName and with passName2; when the results differ by
// more than the placeholder, each host is evaluated with its own name.
func evalShares(w *worker, hosts []*Host, u factsUnit, shares []share) bool {
	ok := true
	if u.free == nil {
		in := make(map[string]json.RawMessage, len(u.hosts))
		for _, i := range u.hosts {
			in[hosts[i].Name] = hosts[i].Facts
		}
		b, err := evalShare(w, in)
		if err != nil {
			return false
		}
		shares[u.hosts[0]].obj, ok = parseShare(b)
		return ok
	}
	if len(u.hosts) > 1 {
		one, err := evalShare(w, map[string]json.RawMessage{passName: u.free})
		if err != nil {
			return false
		}
		var free2 []byte
		free2, ok = renamed(u.free, passName, passName2, false)
		if ok {
			var two []byte
			if two, err = evalShare(w, map[string]json.RawMessage{passName2: free2}); err != nil {
				return false
			}
			want, ok2 := renamed(one, passName, passName2, true)
			ok = ok2 && bytes.Equal(want, two)
		}
		if ok {
			obj, ok := parseShare(one)
			if !ok {
				return false
			}
			for _, i := range u.hosts {
				shares[i] = share{obj, hosts[i].Name}
			}
			factsShared.Add(int64(len(u.hosts)))
			return true
		}
	}
	for _, i := range u.hosts {
		b, err := evalShare(w, map[string]json.RawMessage{hosts[i].Name: hosts[i].Facts})
		if err != nil {
			return false
		}
		if shares[i].obj, ok = parseShare(b); !ok {
			return false
		}
	}
	return true
}

// evalShare evaluates #FleetFacts for the hosts facts (by name) in w, and
// returns it as JSON.
func evalShare(w *worker, facts map[string]json.RawMessage) ([]byte, error) {
	in, err := json.Marshal(map[string]any{"hosts": facts})
	if err != nil {
		return nil, err
	}
	v := w.def(FleetFactsDef).Unify(w.ctx.CompileBytes(in))
	defer w.evaluated()
	if err := v.Validate(cue.Concrete(true)); err != nil {
		return nil, err
	}
	return v.MarshalJSON()
}

// A jsonObject is a JSON object with its keys in order; its values are
// *jsonObject or, for any other value, its JSON text.
type jsonObject struct {
	keys []string
	vals map[string]any
}

// parseObject parses the JSON object b, and reports false when b is not
// one.
func parseObject(b []byte) (*jsonObject, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	o := &jsonObject{vals: map[string]any{}}
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return nil, false
		}
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return nil, false
		}
		if _, dup := o.vals[k]; dup {
			return nil, false
		}
		o.keys = append(o.keys, k)
		if len(raw) > 0 && raw[0] == '{' {
			sub, ok := parseObject(raw)
			if !ok {
				return nil, false
			}
			o.vals[k] = sub
		} else {
			o.vals[k] = []byte(raw)
		}
	}
	return o, true
}

// merge unifies the object src into o, keeping the order in which keys
// first appear, with every key and whole string from in src replaced by
// to when from is set, and reports false when they conflict (two values
// of a key that are not both objects differ). o takes src's objects
// when from is not set: src must not be used again then.
func (o *jsonObject) merge(src *jsonObject, from, to string) bool {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	for _, k := range src.keys {
		v := src.vals[k]
		if from != "" {
			if k == from {
				k = to
			}
			switch x := v.(type) {
			case []byte:
				if bytes.Contains(x, []byte(from)) {
					b, ok := renamed(x, from, to, true)
					if !ok {
						return false
					}
					v = b
				}
			case *jsonObject:
				if _, ok := o.vals[k]; !ok {
					c := &jsonObject{}
					if !c.merge(x, from, to) {
						return false
					}
					v = c
				}
			}
		}
		old, ok := o.vals[k]
		if !ok {
			o.keys = append(o.keys, k)
			o.vals[k] = v
			continue
		}
		switch old := old.(type) {
		case *jsonObject:
			sub, ok := v.(*jsonObject)
			if !ok || !old.merge(sub, from, to) {
				return false
			}
		case []byte:
			b, ok := v.([]byte)
			if !ok || !bytes.Equal(old, b) {
				return false
			}
		}
	}
	return true
}

// write writes o as compact JSON, and reports false when a key would
// need escaping (CUE's encoding of it is then not known here).
func (o *jsonObject) write(b *bytes.Buffer) bool {
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		for j := 0; j < len(k); j++ {
			if c := k[j]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":`)
		switch v := o.vals[k].(type) {
		case *jsonObject:
			if !v.write(b) {
				return false
			}
		case []byte:
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return true
}

// perHostAggregate reports whether def, the schema's #FleetFacts, is an
// aggregate of each host's share: one declaration, a struct whose fields
// other than hosts are structs of comprehensions that start with `for k,
// v in F.hosts` (F the struct's alias) and of fields and constraints; no
// part of it but those comprehensions' first clauses refers to the
// struct's alias or to any of its fields (a comprehension over pairs of
// hosts, or a count of the hosts, would: those are not unions of
// shares).
func perHostAggregate(def cue.Value) bool {
	if op, args := def.Expr(); op != cue.NoOp || len(args) != 1 {
		return false
	}
	f, ok := def.Source().(*ast.Field)
	if !ok {
		return false
	}
	if l, _, err := ast.LabelName(f.Label); err != nil || l != string(FleetFactsDef) {
		return false
	}
	alias := ""
	body := f.Value
	if a, ok := body.(*ast.Alias); ok {
		alias, body = a.Ident.Name, a.Expr
	}
	s, ok := body.(*ast.StructLit)
	if !ok {
		return false
	}
	// The names a share must not read: the alias and the struct's fields.
	banned := map[string]bool{}
	if alias != "" {
		banned[alias] = true
	}
	for _, d := range s.Elts {
		fd, ok := d.(*ast.Field)
		if !ok {
			return false
		}
		l, _, err := ast.LabelName(fd.Label)
		if err != nil {
			return false
		}
		banned[l] = true
	}
	for _, d := range s.Elts {
		fd := d.(*ast.Field)
		l, _, _ := ast.LabelName(fd.Label)
		if l == "hosts" || !isStructLit(fd.Value) {
			if l != "hosts" || reads(fd.Value, banned) {
				return false
			}
			continue
		}
		for _, e := range fd.Value.(*ast.StructLit).Elts {
			switch e := e.(type) {
			case *ast.Field:
				if reads(e, banned) {
					return false
				}
			case *ast.Comprehension:
				first, ok := e.Clauses[0].(*ast.ForClause)
				if !ok || !isHosts(first.Source, alias) {
					return false
				}
				for _, c := range e.Clauses[1:] {
					if reads(c, banned) {
						return false
					}
				}
				if reads(e.Value, banned) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

func isStructLit(e ast.Expr) bool {
	_, ok := e.(*ast.StructLit)
	return ok
}

// isHosts reports whether e is alias.hosts.
func isHosts(e ast.Expr, alias string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || alias == "" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	l, _, err := ast.LabelName(sel.Sel)
	return ok && err == nil && x.Name == alias && l == "hosts"
}

// reads reports whether n refers to an identifier of banned anywhere but
// as a field's label or the field name of a selector.
func reads(n ast.Node, banned map[string]bool) bool {
	found := false
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		ast.Walk(n, func(n ast.Node) bool {
			if found {
				return false
			}
			switch x := n.(type) {
			case *ast.Field:
				switch x.Label.(type) {
				case *ast.Ident, *ast.BasicLit:
				default:
					walk(x.Label)
				}
				walk(x.Value)
				return false
			case *ast.SelectorExpr:
				walk(x.X)
				return false
			case *ast.Ident:
				if banned[x.Name] {
					found = true
				}
			}
			return true
		}, nil)
	}
	walk(n)
	return found
}

// splitFleetJSON returns, as JSON, the fields of the evaluated
// #FleetFacts b every host gets (all but hosts and perHost) and each
// host's own entry of perHost.
func splitFleetJSON(b []byte) ([]byte, map[string]json.RawMessage, error) {
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
