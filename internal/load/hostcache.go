package load

import (
	"bytes"
	"encoding/json"

	"fleetnix.dev/fleet/internal/diag"
)

// A host whose inputs did not change is neither merged nor unified again.
//
// When the fleet is read entry by entry, every entry has a hash of its
// declarations and where they are (entry.prov), and a host's Provenance
// hashes those of the entries it is merged from, in order: the same
// Provenance is the same merged tree, positions included, so the same
// unification. A host that merged and unified without a problem is kept
// in the cache as a hostRecord under the prov of its own entry, with the
// entries it was merged from and the Provenance they gave: a later load
// whose host entry is the same recomputes the Provenance from those
// entries as they are now, and when it is the one recorded, takes the
// host from the record. The entries a host is merged from are named by
// its own entry and its template's, which the Provenance covers, so a
// record whose Provenance still holds names the entries the host would be
// merged from now.
//
// A host so taken has no Tree: Fleet.Tree merges it when a later stage
// needs it (explain, the source map of a changed host).

// hostRecordVersion names the layout of a hostRecord.
const hostRecordVersion = "hostrec-1"

// A hostRecord is a host as the cache keeps it: the entries it is merged
// from, its Provenance then, what the merge gives besides the tree, and
// what unification recorded (Host.parts), or, when that was a result
// hosts share but for their names (see unifyShared), the key of that
// result: the hosts of a template keep it once.
type hostRecord struct {
	h *Host
}

// sharedMark stands for Host.parts in a hostRecord of a host whose
// unification is the shared result that follows it.
const sharedMark = "shared"

// sharedResults reads the shared results hostRecords name, each once per
// load. It is safe for concurrent use.
type sharedResults struct {
	c    *cache
	memo hostMemo
}

// get returns the shared result kept under key, nil when there is none.
func (s *sharedResults) get(key string) [][]byte {
	return s.memo.do(key, func() [][]byte {
		var r Host
		if !s.c.get(key, &r) {
			return nil
		}
		return r.parts()
	})
}

// hostMeta is what JSON keeps of a host in a hostRecord.
type hostMeta struct {
	Deps            []entryRef
	Template        string      `json:",omitempty"`
	HardwareProfile string      `json:",omitempty"`
	Tags            []string    `json:",omitempty"`
	Users           []HostUser  `json:",omitempty"`
	Decl            diag.Range  `json:""`
	Doc             []string    `json:",omitempty"`
	Fixed           []FixedPath `json:",omitempty"`
}

// An entryRef names an entry in a hostRecord.
type entryRef struct {
	Kind Path
	Name string `json:",omitempty"`
}

func (r hostRecord) parts() [][]byte {
	h := r.h
	m := hostMeta{Template: h.Template, HardwareProfile: h.HardwareProfile, Tags: h.Tags, Users: h.Users,
		Decl: h.Decl, Doc: h.Doc, Fixed: h.Fixed}
	for _, d := range h.deps {
		m.Deps = append(m.Deps, entryRef{d.kind, d.name})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	out := [][]byte{[]byte(hostRecordVersion), b, h.Provenance}
	if h.shared != "" {
		return append(out, []byte(sharedMark), []byte(h.shared))
	}
	return append(out, h.parts()...)
}

func (r *hostRecord) setParts(p [][]byte) bool {
	if len(p) < 3 || string(p[0]) != hostRecordVersion {
		return false
	}
	var m hostMeta
	if json.Unmarshal(p[1], &m) != nil {
		return false
	}
	h := &Host{Template: m.Template, HardwareProfile: m.HardwareProfile, Tags: m.Tags, Users: m.Users,
		Decl: m.Decl, Doc: m.Doc, Fixed: m.Fixed, Provenance: p[2]}
	for _, d := range m.Deps {
		h.deps = append(h.deps, entryID{d.Kind, d.Name})
	}
	if len(p) == 5 && string(p[3]) == sharedMark {
		// Read by remembered, which knows the host's name.
		h.shared = string(p[4])
	} else if !h.setParts(p[3:]) {
		return false
	}
	r.h = h
	return true
}

// recordKey returns the key of the record of the host whose own entry is
// e, for loads with or without NixOS (flag); "" when there is none.
func (c *cache) recordKey(flag []byte, e *entry) string {
	if c == nil || e == nil || e.prov == nil {
		return ""
	}
	return c.key("hostrec", flag, e.prov)
}

// remembered returns host name as an earlier load recorded it, when the
// entries it is merged from are still those it was recorded with; nil
// otherwise.
func (l *layers) remembered(c *cache, shared *sharedResults, flag []byte, name string) *Host {
	key := c.recordKey(flag, l.hosts[name])
	if key == "" {
		return nil
	}
	var r hostRecord
	if !c.get(key, &r) {
		return nil
	}
	h := r.h
	prov := provenance{ok: true}
	for _, id := range h.deps {
		e := l.entry(id)
		if e == nil || e.diags != nil || e.dataDiags != nil {
			return nil
		}
		prov.add(e)
	}
	if now := prov.sum(name, h.Users); now == nil || !bytes.Equal(now, h.Provenance) {
		return nil
	}
	h.Name = name
	if h.shared != "" {
		parts := shared.get(h.shared)
		if parts == nil || !h.setShared(parts) {
			return nil
		}
	}
	h.Key = resultKey(c, flag, h.Provenance)
	return h
}

// remember records h, merged without a problem and unified, for later
// loads.
func (l *layers) remember(c *cache, flag []byte, h *Host) {
	if key := c.recordKey(flag, l.hosts[h.Name]); key != "" && h.Provenance != nil && h.deps != nil {
		c.put(key, &hostRecord{h})
	}
}

// resultKey returns Host.Key for a host of Provenance prov.
func resultKey(c *cache, flag, prov []byte) []byte {
	if c == nil || prov == nil {
		return nil
	}
	return []byte(c.key("hostresult", flag, prov))
}

// entry returns the entry id, or nil.
func (l *layers) entry(id entryID) *entry {
	if id.kind == SettingsPath {
		return l.settings
	}
	for _, k := range l.kinds() {
		if k.path == id.kind {
			return k.into[id.name]
		}
	}
	return nil
}

// A fleetValuesRecord is the fleet's settings and secrets as the schema
// completes them (Fleet.Settings, Fleet.Secrets), kept when they were
// complete and their names checked without a problem: a load whose
// settings and secrets entries did not change needs no schema for them.
type fleetValuesRecord struct {
	settings []byte
	secrets  map[string][]byte
}

func (r fleetValuesRecord) parts() [][]byte {
	out := [][]byte{r.settings}
	for _, name := range keys(r.secrets) {
		out = append(out, []byte(name), r.secrets[name])
	}
	return out
}

func (r *fleetValuesRecord) setParts(p [][]byte) bool {
	if len(p)%2 != 1 {
		return false
	}
	r.settings, r.secrets = p[0], map[string][]byte{}
	for i := 1; i < len(p); i += 2 {
		r.secrets[string(p[i])] = p[i+1]
	}
	return true
}

// valuesKey returns the key of the fleet's fleetValuesRecord: the
// entries of its settings and secrets, where they are; "" when some has
// problems of its own.
func (l *layers) valuesKey(c *cache) string {
	if c == nil {
		return ""
	}
	var parts [][]byte
	add := func(e *entry, label ...string) bool {
		if e.prov == nil || e.diags != nil || e.dataDiags != nil {
			return false
		}
		for _, s := range label {
			parts = append(parts, []byte(s))
		}
		parts = append(parts, e.prov)
		return true
	}
	if l.settings != nil && !add(l.settings, string(SettingsPath)) {
		return ""
	}
	for _, name := range keys(l.secrets) {
		if !add(l.secrets[name], string(SecretsPath), name) {
			return ""
		}
	}
	return c.key("fleetvalues", parts...)
}
