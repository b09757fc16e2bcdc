package load

import (
	"bytes"
	"encoding/json"
	"io"
)

// The fleet pass shares its CUE evaluations between hosts alike (see
// derive_share.go and derive_facts.go): a host's input is evaluated with
// its name replaced by a placeholder, and the result given to every host
// whose input is the same but for its name, with the placeholder replaced
// by that host's name. Both replacements touch only whole JSON strings,
// found by nameSites.

// The placeholders of the fleet pass. Each is a #HostName; the first
// sorts before any name of letters, the second after any, and they differ
// in length, so that a schema that sorted, measured or compared a host's
// name other than for equality would give results that differ by more
// than the placeholder (the result is then not shared).
const (
	passName  = "0-fleetgen-pass-a7c3e0"
	passName2 = "zz-fleetgen-pass-5b19f4d2"
)

// nameSites returns the offsets in the JSON document b of the strings
// that are exactly name, written without escapes: string values, and
// object keys too when keys is set. It reports false when name occurs in
// b anywhere else: inside a longer string or key, as a key when keys is
// not set, or escaped, or when b is not one JSON document.
func nameSites(b []byte, name string, keys bool) ([]int, bool) {
	n := bytes.Count(b, []byte(name))
	if n == 0 {
		return nil, true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// inObject and wantKey describe each open container: an object
	// alternates keys and values.
	type frame struct{ inObject, wantKey bool }
	var stack []frame
	var at []int
	for {
		t, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false
		}
		isKey := false
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.inObject {
				isKey = top.wantKey
				top.wantKey = !top.wantKey
			}
		}
		switch t := t.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{inObject: t == '{', wantKey: true})
			default:
				// The closing delimiter was counted as a key or value of
				// its own container above: undo that.
				stack = stack[:len(stack)-1]
			}
		case string:
			if t != name || isKey && !keys {
				continue
			}
			end := int(dec.InputOffset())
			start := end - len(name) - 1
			if start < 1 || b[start-1] != '"' || b[end-1] != '"' || string(b[start:end-1]) != name {
				return nil, false // escaped
			}
			at = append(at, start)
		}
	}
	return at, len(at) == n
}

// replaceAt returns b with the len(old) bytes at each offset of at (in
// increasing order) replaced by repl.
func replaceAt(b []byte, at []int, oldLen int, repl string) []byte {
	if len(at) == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+len(at)*(len(repl)-oldLen))
	last := 0
	for _, i := range at {
		out = append(append(out, b[last:i]...), repl...)
		last = i + oldLen
	}
	return append(out, b[last:]...)
}

// renamed returns b with every whole string from (and key, when keys is
// set) replaced by to, and reports false when from occurs in b otherwise.
func renamed(b []byte, from, to string, keys bool) ([]byte, bool) {
	at, ok := nameSites(b, from, keys)
	if !ok {
		return nil, false
	}
	return replaceAt(b, at, len(from), to), true
}
