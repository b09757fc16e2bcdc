package nixos

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// LockedInputs reads a flake's lock file (flake.lock) and returns its
// root inputs as the lock pins them, by input name, their URL taken from
// urls (the flake's own declaration of each input) when given.
func LockedInputs(lock []byte, urls map[string]string) (map[string]Locked, error) {
	var l struct {
		Version int                        `json:"version"`
		Root    string                     `json:"root"`
		Nodes   map[string]json.RawMessage `json:"nodes"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		return nil, fmt.Errorf("not a flake lock file: %v", err)
	}
	type node struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
		Locked *struct {
			Rev          string `json:"rev"`
			NarHash      string `json:"narHash"`
			LastModified int64  `json:"lastModified"`
		} `json:"locked"`
	}
	read := func(key string) (*node, error) {
		raw, ok := l.Nodes[key]
		if !ok {
			return nil, fmt.Errorf("the lock file has no node %q", key)
		}
		var n node
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("node %q of the lock file: %v", key, err)
		}
		return &n, nil
	}
	if l.Root == "" {
		l.Root = "root"
	}
	root, err := read(l.Root)
	if err != nil {
		return nil, err
	}
	out := map[string]Locked{}
	for _, name := range slices.Sorted(maps.Keys(root.Inputs)) {
		var key string
		if err := json.Unmarshal(root.Inputs[name], &key); err != nil {
			continue // an input that follows another: not locked itself
		}
		n, err := read(key)
		if err != nil {
			return nil, err
		}
		if n.Locked == nil {
			return nil, fmt.Errorf("input %s is not locked", name)
		}
		out[name] = Locked{URL: urls[name], Rev: n.Locked.Rev, NarHash: n.Locked.NarHash, LastModified: n.Locked.LastModified}
	}
	return out, nil
}

// Stale compares the inputs an index was read with to those a lock file
// pins now, and says how they differ, one line per input, sorted; nil
// when they are the same.
func (ix *Index) Stale(now map[string]Locked) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(ix.Inputs)) {
		was := ix.Inputs[name]
		is, ok := now[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: no longer an input", name))
		case is.NarHash != was.NarHash || is.Rev != was.Rev:
			out = append(out, fmt.Sprintf("%s: read at %s, now locked at %s", name, was.version(), is.version()))
		case is.URL != was.URL && is.URL != "":
			out = append(out, fmt.Sprintf("%s: read from %s, now %s", name, was.URL, is.URL))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(now)) {
		if _, ok := ix.Inputs[name]; !ok {
			out = append(out, fmt.Sprintf("%s: a new input", name))
		}
	}
	return out
}

// version names a locked input's version: its revision, else its hash.
func (l Locked) version() string {
	if l.Rev != "" {
		return l.Rev[:min(12, len(l.Rev))]
	}
	return strings.TrimPrefix(l.NarHash, "sha256-")
}
