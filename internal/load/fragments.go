package load

import (
	"bytes"
	"encoding/json"
	"sort"

	"cuelang.org/go/cue"
)

// fragmentDefs are the definitions fragments records: what a part of a
// host computes for NixOS (#nixos) and home-manager (#hm), and the pools
// of values several parts add to, which #Host collects into one list each
// (see _#pooled in the schema).
var fragmentDefs = []string{nixosDef, homeDef, "#packages", "#groups", "#tcpPorts", "#udpPorts"}

// fragments returns, as JSON, the fragment definitions of every struct
// of the unified host v but its root (whose #nixos is the host's whole
// configuration), keyed by the struct's path as FormatPath writes it and
// then by definition name. The structs are found in the host's exported
// value, data (cue.Value.Fields sorts the fields of every struct it
// lists, which would cost more than the lookups); the free-form `nixos`
// computes nothing and is skipped.
func fragments(v cue.Value, data []byte) ([]byte, error) {
	var root map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&root); err != nil {
		return nil, err
	}
	out := map[string]map[string]json.RawMessage{}
	var walk func(path []string, sels []cue.Selector, m map[string]any) error
	walk = func(path []string, sels []cue.Selector, m map[string]any) error {
		if len(path) > 0 {
			at := v.LookupPath(cue.MakePath(sels...))
			for _, def := range fragmentDefs {
				f := at.LookupPath(cue.MakePath(cue.Def(def)))
				if !f.Exists() {
					continue
				}
				b, err := f.MarshalJSON()
				if err != nil {
					return err
				}
				if string(b) == "{}" {
					continue
				}
				p := FormatPath(path)
				if out[p] == nil {
					out[p] = map[string]json.RawMessage{}
				}
				out[p][def] = b
			}
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sub, ok := m[k].(map[string]any)
			if !ok || len(path) == 0 && k == nixosField {
				continue
			}
			if err := walk(append(path[:len(path):len(path)], k), append(sels[:len(sels):len(sels)], cue.Str(k)), sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nil, nil, root); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}
