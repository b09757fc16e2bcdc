package fleet

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/emit"
)

// hostSecrets is what the status of the fleet's secrets needs of one
// host: the secrets its configuration uses, its SSH host key and deploy
// target, its users' values as merged on it (which may add keys), and
// the modes its free-form nixos gives secrets
// (nixos.age.secrets.<name>.mode).
type hostSecrets struct {
	Used    []string                   `json:"used,omitempty"`
	HostKey *string                    `json:"hostKey,omitempty"`
	Target  string                     `json:"target,omitempty"`
	Users   map[string]json.RawMessage `json:"users,omitempty"`
	Modes   map[string]string          `json:"modes,omitempty"`
}

// secretFactsVersion names the layout of a cache entry of hostSecrets.
const secretFactsVersion = "secrets-of-1"

// hostSecretFacts returns the hostSecrets of every host, in the order of
// f.hosts. Each is read from the host's values once per load, on every
// core; with a cache, a host whose values did not change is read from
// the entry an earlier run kept (the key hashes every value it is made
// from), so that a run after an edit of one host of a thousand decodes
// one host.
func (f *Fleet) hostSecretFacts() ([]hostSecrets, error) {
	f.secretFactsOnce.Do(func() {
		out := make([]hostSecrets, len(f.hosts))
		errs := make([]error, len(f.hosts))
		c := f.l.Cache()
		defer c.Batch()()
		var alike secretsAlike
		forEach(len(f.hosts), func(j int) {
			h := f.hosts[j]
			var key string
			if c != nil {
				key = c.Key(secretFactsVersion, secretFactsKey(h))
			}
			if parts, ok := c.Get(key); ok && len(parts) == 1 && json.Unmarshal(parts[0], &out[j]) == nil {
				return
			}
			// A damaged entry may have filled part of it.
			out[j] = hostSecrets{}
			if !alike.of(h, &out[j], func(out *hostSecrets) error {
				f.secretFactsRead.Add(1)
				return h.secretFacts(out)
			}) {
				f.secretFactsRead.Add(1)
				if errs[j] = h.secretFacts(&out[j]); errs[j] != nil {
					return
				}
			}
			if b, err := json.Marshal(&out[j]); err == nil {
				c.Put(key, [][]byte{b})
			}
		})
		for _, err := range errs {
			if err != nil {
				f.secretFactsErr = err
				return
			}
		}
		f.secretFactsRes = out
	})
	return f.secretFactsRes, f.secretFactsErr
}

// secretFactsKey hashes everything hostSecrets is read from: the host's
// name, its final value, its computed and derived NixOS configurations
// and its users' home configurations. The load's key of the host
// (load.Host.Key) stands for all of them but the derived configuration,
// which the fleet pass gives: with it, the values (tens of KB a host)
// need not be hashed.
func secretFactsKey(h *Host) []byte {
	s, w := newHash()
	hashStrings(w, h.Name)
	if h.h.Key != nil {
		hashStrings(w, "host key")
		hashBytes(w, h.h.Key)
		hashBytes(w, h.h.Derived)
		return sum(s, w)
	}
	hashBytes(w, h.h.JSON())
	hashBytes(w, h.h.NixOS())
	hashBytes(w, h.h.Derived)
	for _, u := range h.Users {
		hashStrings(w, u.Name)
		hashBytes(w, h.h.Home[u.Name])
	}
	return sum(s, w)
}

// secretFacts reads the host's hostSecrets from its values.
func (h *Host) secretFacts(out *hostSecrets) error {
	eh := emit.Host{Name: h.Name}
	var err error
	if h.h.NixOS() != nil {
		if eh.NixOS, err = decodeObject(h.h.NixOS()); err != nil {
			return err
		}
	}
	if h.h.Derived != nil {
		if eh.Derived, err = decodeObject(h.h.Derived); err != nil {
			return err
		}
	}
	v, err := h.Value()
	if err != nil {
		return err
	}
	eh.Extra, _ = v["nixos"].(map[string]any)
	for _, u := range h.Users {
		if b := h.h.Home[u.Name]; b != nil {
			home, err := decodeObject(b)
			if err != nil {
				return err
			}
			eh.Users = append(eh.Users, emit.User{Name: u.Name, Home: home})
		}
	}
	for s := range secretsUsedBy([]emit.Host{eh}) {
		out.Used = append(out.Used, s)
	}
	sort.Strings(out.Used)
	if d, ok := v["deploy"].(map[string]any); ok {
		if k, ok := d["hostKey"].(string); ok {
			out.HostKey = &k
		}
		out.Target, _ = d["targetHost"].(string)
	}
	us, _ := v["users"].(map[string]any)
	for n, u := range us {
		if _, ok := u.(map[string]any); !ok {
			continue
		}
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if out.Users == nil {
			out.Users = map[string]json.RawMessage{}
		}
		out.Users[n] = b
	}
	age, _ := eh.Extra["age"].(map[string]any)
	secrets, _ := age["secrets"].(map[string]any)
	for name, s := range secrets {
		if m, ok := s.(map[string]any); ok {
			if mode, ok := m["mode"].(string); ok {
				if out.Modes == nil {
					out.Modes = map[string]string{}
				}
				out.Modes[name] = mode
			}
		}
	}
	return nil
}

// Hosts alike but for their names have the same hostSecrets but for
// their names.
//
// secretFacts reads fixed keys of a host's values and copies what it
// finds (strings, a user's value as JSON); it compares no value with
// anything. So when each value of host b is host a's with every whole
// JSON string value that is a's name replaced by b's name, and a's name
// occurs in them nowhere else (not in a key, a longer string or a
// marker: hashRenamed), b's hostSecrets are a's with the same
// replacement (renameSecrets). secretsAlike finds such hosts by the hash
// of their values with the name left out, and reads the values of the
// first of each only.

// secretsAlike are the hostSecrets of one run's hosts, by the key of
// their values with the name left out. It is safe for concurrent use.
type secretsAlike struct {
	mu sync.Mutex
	m  map[string]*secretsOf
}

// secretsOf are the hostSecrets of the first host of a key, read once.
type secretsOf struct {
	done chan struct{}
	name string
	res  hostSecrets
	ok   bool
}

// secretFactsShared counts the hosts whose hostSecrets were made from
// another's (tests).
var secretFactsShared atomic.Int64

// of fills out with the hostSecrets of host h, read with read when no
// host alike was read before, else made from that host's; false when h
// is read alone (shareClones is off, its name is not one sharing is
// tried for, or its values hold its name other than as a whole value),
// or the first host alike failed.
func (a *secretsAlike) of(h *Host, out *hostSecrets, read func(*hostSecrets) error) bool {
	if !shareClones || !cloneNameRx.MatchString(h.Name) {
		return false
	}
	ins := [][]byte{h.h.JSON(), h.h.NixOS(), h.h.Derived}
	for _, u := range h.Users {
		ins = append(ins, h.h.Home[u.Name])
	}
	s, w := newHash()
	hashStrings(w, "secrets-alike-1")
	hashUint(w, uint64(len(h.Users)))
	for _, u := range h.Users {
		hashStrings(w, u.Name)
	}
	for _, in := range ins {
		if !hashRenamed(w, in, h.Name, nil) {
			sum(s, w)
			return false
		}
	}
	key := string(sum(s, w))
	a.mu.Lock()
	if a.m == nil {
		a.m = map[string]*secretsOf{}
	}
	e, found := a.m[key]
	if !found {
		e = &secretsOf{done: make(chan struct{}), name: h.Name}
		a.m[key] = e
	}
	a.mu.Unlock()
	if !found {
		defer close(e.done)
		if read(&e.res) != nil {
			return false
		}
		e.ok = true
		*out = renameSecrets(e.res, h.Name, h.Name)
		return true
	}
	<-e.done
	if !e.ok {
		return false
	}
	secretFactsShared.Add(1)
	*out = renameSecrets(e.res, e.name, h.Name)
	return true
}

// renameSecrets returns a copy of hs, the hostSecrets of a host named
// from, for a host alike named to: each string that is from, and each
// whole JSON string value of a user's value, is to.
func renameSecrets(hs hostSecrets, from, to string) hostSecrets {
	name := func(s string) string {
		if s == from {
			return to
		}
		return s
	}
	out := hostSecrets{Target: name(hs.Target)}
	for _, s := range hs.Used {
		out.Used = append(out.Used, name(s))
	}
	sort.Strings(out.Used)
	if hs.HostKey != nil {
		k := name(*hs.HostKey)
		out.HostKey = &k
	}
	if hs.Users != nil {
		out.Users = make(map[string]json.RawMessage, len(hs.Users))
		for u, b := range hs.Users {
			out.Users[name(u)] = renamed(b, from, to)
		}
	}
	if hs.Modes != nil {
		out.Modes = make(map[string]string, len(hs.Modes))
		for s, m := range hs.Modes {
			out.Modes[name(s)] = name(m)
		}
	}
	return out
}
