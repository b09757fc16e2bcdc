package fleet

import (
	"encoding/json"
	"sort"

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
			f.secretFactsRead.Add(1)
			if errs[j] = h.secretFacts(&out[j]); errs[j] != nil {
				return
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
