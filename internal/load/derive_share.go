package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync/atomic"
)

// Hosts alike derived once.
//
// A host's derivation (#Derive) reads its name, its facts, its entry of
// #FleetFacts.perHost (own) and the fleet's shared facts. Hosts whose
// inputs are the same but for the name share one evaluation: the input is
// evaluated with the name replaced by passName wherever it is a whole
// string value of the facts, and each host gets the result with passName
// replaced by its name wherever it is a whole string value. That is right
// when #Derive reads the name only as a value it copies or compares for
// equality (TestDeriveNameOnlyAsValue holds the schema to that) and the
// name is not in the input anywhere else, so that an equality is false
// for the name exactly when it is false for the placeholder. So a host
// is derived alone, with its own name, when its name is no #HostName, or
// occurs in its facts other than as a whole string value (inside a longer
// string, as a key), or anywhere in its own entry or the fleet's shared
// facts (a binary cache's name is a key of the caches, which #Derive
// compares with the name; a monitoring server's own entry names it), or
// when a placeholder occurs in its input. A shared result is checked once
// more: the input with passName2 must give the result with passName2 for
// passName, else every host of the group is derived alone. A group's
// evaluation that fails is made again by each host alone, so errors are
// exactly the host's own. A host with no other host alike is derived
// alone as before (no placeholder, no second evaluation).
//
// The cache keeps a group's name-free result under a key of the
// name-free input ("derive-shared"), a lone host's under its own input
// ("derive"), as before.

// shareDerive turns the sharing of derivations on; tests turn it off to
// compare.
var shareDerive = true

// derivedShared counts the hosts whose derivation was shared with others
// (for tests).
var derivedShared atomic.Int64

// A deriveUnit is one derivation: of the host hosts[0] alone, or of the
// name-free input (free facts, own) for every host of hosts.
type deriveUnit struct {
	hosts []int
	free  []byte
	own   json.RawMessage
}

// ownOf returns h's entry of ff.PerHost, {} when it has none.
func ownOf(ff *fleetFacts, h *Host) json.RawMessage {
	if own := ff.PerHost[h.Name]; own != nil {
		return own
	}
	return json.RawMessage("{}")
}

// deriveUnits groups hosts into derivations: the hosts alike together.
func deriveUnits(hosts []*Host, ff *fleetFacts) []deriveUnit {
	var units []deriveUnit
	byKey := map[[sha256.Size]byte]int{}
	for i, h := range hosts {
		own := ownOf(ff, h)
		free, ok := deriveFree(h, own, ff.Shared)
		if !ok {
			units = append(units, deriveUnit{hosts: []int{i}})
			continue
		}
		hs := sha256.New()
		writeBytes(hs, free)
		writeBytes(hs, own)
		var k [sha256.Size]byte
		hs.Sum(k[:0])
		if u, seen := byKey[k]; seen {
			units[u].hosts = append(units[u].hosts, i)
			continue
		}
		byKey[k] = len(units)
		units = append(units, deriveUnit{hosts: []int{i}, free: free, own: own})
	}
	// A host with no other alike is derived alone.
	for i := range units {
		if len(units[i].hosts) == 1 {
			units[i].free, units[i].own = nil, nil
		}
	}
	return units
}

// deriveFree returns h's facts with its name replaced by passName, and
// reports false when its derivation cannot be shared (see above).
func deriveFree(h *Host, own, shared []byte) ([]byte, bool) {
	if !shareDerive || !hostNameRx.MatchString(h.Name) {
		return nil, false
	}
	for _, b := range [][]byte{h.Facts, own, shared} {
		if bytes.Contains(b, []byte(passName)) || bytes.Contains(b, []byte(passName2)) {
			return nil, false
		}
	}
	if bytes.Contains(own, []byte(h.Name)) || bytes.Contains(shared, []byte(h.Name)) {
		return nil, false
	}
	return renamed(h.Facts, h.Name, passName, false)
}

// deriveUnit derives the hosts of u in w, with the cache c, and records
// each host's error in errs.
func (u *deriveUnit) derive(c *cache, w *worker, hosts []*Host, ff *fleetFacts, sharedSum []byte, errs []error) {
	if u.free != nil {
		key := c.key("derive-shared", u.free, u.own, sharedSum)
		var r derived
		ok := c.get(key, &r)
		if !ok {
			r.NixOS, ok = deriveShared(w, u.free, u.own, ff.Shared)
			if ok {
				c.put(key, &r)
			}
		}
		if ok {
			var at []int
			if r.NixOS != nil {
				at, ok = nameSites(r.NixOS, passName, false)
			}
			if ok {
				for _, i := range u.hosts {
					hosts[i].Derived = nil
					if r.NixOS != nil {
						hosts[i].Derived = replaceAt(r.NixOS, at, len(passName), hosts[i].Name)
					}
				}
				derivedShared.Add(int64(len(u.hosts)))
				return
			}
		}
	}
	for _, i := range u.hosts {
		errs[i] = deriveAlone(c, w, hosts[i], ff)
	}
}

// deriveAlone derives h with its own name.
func deriveAlone(c *cache, w *worker, h *Host, ff *fleetFacts) error {
	own := ownOf(ff, h)
	key := c.key("derive", []byte(h.Name), h.Facts, ff.Shared, own)
	var r derived
	if c.get(key, &r) {
		h.Derived = r.NixOS
		return nil
	}
	if err := w.init(); err != nil {
		return err
	}
	err := h.derive(w, ff.Shared, own)
	w.evaluated()
	if err == nil {
		c.put(key, &derived{h.Derived})
	}
	return err
}

// deriveShared evaluates the name-free input (free, own, shared) with
// passName and with passName2, and returns the result with passName when
// the two differ only by the placeholder and it holds passName only as
// whole string values; it reports false otherwise, or when an evaluation
// fails.
func deriveShared(w *worker, free, own, shared json.RawMessage) ([]byte, bool) {
	if w.init() != nil {
		return nil, false
	}
	one, err := evalDerive(w, passName, free, shared, own)
	w.evaluated()
	if err != nil {
		return nil, false
	}
	free2, ok := renamed(free, passName, passName2, false)
	if !ok {
		return nil, false
	}
	two, err := evalDerive(w, passName2, free2, shared, own)
	w.evaluated()
	if err != nil {
		return nil, false
	}
	if one == nil || two == nil {
		return one, one == nil && two == nil
	}
	want, ok := renamed(one, passName, passName2, false)
	return one, ok && bytes.Equal(want, two)
}

// deriveAll derives every host, sharing the evaluations of hosts alike,
// on the workers; errs[i] is the error of hosts[i].
func deriveAll(ctx context.Context, c *cache, workers []worker, hosts []*Host, ff *fleetFacts) ([]error, error) {
	units := deriveUnits(hosts, ff)
	sum := sha256.Sum256(ff.Shared)
	errs := make([]error, len(hosts))
	err := parallel(ctx, len(workers), len(units), func(wi, ui int) {
		units[ui].derive(c, &workers[wi], hosts, ff, sum[:], errs)
	})
	return errs, err
}
