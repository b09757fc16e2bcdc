package fleet

import (
	"encoding/json"
	"slices"
)

// The hosts' NixOS, fleet-pass and home configurations are decoded for
// every generation and every vet, a few times per host: encoding/json
// reads each value twice (once to find its end, once to decode it) and
// is most of that cost. decodeValue reads the JSON CUE exports in one
// pass, into what encoding/json's Decoder with UseNumber would give;
// whatever it is not sure of (an escape or a byte outside ASCII in a
// string, deep nesting, anything that is not plain JSON), it leaves to
// encoding/json.

// decodeValue decodes the JSON value b as a Decoder with UseNumber
// decodes it into an any, and reports false when it leaves b to
// encoding/json: b is not one plain JSON value, possibly surrounded by
// white space.
func decodeValue(b []byte) (any, bool) {
	r := jsonReader{b: b}
	v := r.value(0, true)
	r.space()
	if r.bad || r.i != len(b) {
		return nil, false
	}
	return v, true
}

// A jsonReader reads a JSON value; bad records that it gave up.
type jsonReader struct {
	b   []byte
	i   int
	bad bool
	// only, when set, names the fields of the top object kept.
	only []string
}

// maxJSONDepth is how deep decodeValue goes before it gives up.
const maxJSONDepth = 200

func (r *jsonReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// value reads a value; unless keep, it only checks it and returns nil.
func (r *jsonReader) value(depth int, keep bool) any {
	r.space()
	if r.bad || r.i >= len(r.b) || depth > maxJSONDepth {
		r.bad = true
		return nil
	}
	switch c := r.b[r.i]; {
	case c == '{':
		r.i++
		var m map[string]any
		if keep {
			m = map[string]any{}
		}
		r.space()
		if r.i < len(r.b) && r.b[r.i] == '}' {
			r.i++
			return m
		}
		for {
			r.space()
			k := r.str(keep)
			r.space()
			if r.bad || r.i >= len(r.b) || r.b[r.i] != ':' {
				r.bad = true
				return nil
			}
			r.i++
			keepK := keep && (depth > 0 || r.only == nil || slices.Contains(r.only, k))
			v := r.value(depth+1, keepK)
			if keepK {
				m[k] = v
			}
			if !r.more('}') {
				return m
			}
		}
	case c == '[':
		r.i++
		var l []any
		if keep {
			l = []any{}
		}
		r.space()
		if r.i < len(r.b) && r.b[r.i] == ']' {
			r.i++
			return l
		}
		for {
			v := r.value(depth+1, keep)
			if keep {
				l = append(l, v)
			}
			if !r.more(']') {
				return l
			}
		}
	case c == '"':
		return r.str(keep)
	case c == '-' || '0' <= c && c <= '9':
		start := r.i
		r.number()
		if !keep || r.bad {
			return nil
		}
		return json.Number(r.b[start:r.i])
	}
	for _, lit := range []struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(r.b)-r.i >= len(lit.text) && string(r.b[r.i:r.i+len(lit.text)]) == lit.text {
			r.i += len(lit.text)
			return lit.v
		}
	}
	r.bad = true
	return nil
}

// more reads what follows an element of an object or a list that ends
// with end: a comma, and then it reports true, or end. Anything else
// makes the reader give up.
func (r *jsonReader) more(end byte) bool {
	r.space()
	if !r.bad && r.i < len(r.b) {
		switch r.b[r.i] {
		case ',':
			r.i++
			return true
		case end:
			r.i++
			return false
		}
	}
	r.bad = true
	return false
}

// str reads a string: printable ASCII without escapes itself, anything
// else through encoding/json; unless keep, it only checks it.
func (r *jsonReader) str(keep bool) string {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		r.bad = true
		return ""
	}
	start := r.i
	plain := true
	for j := r.i + 1; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c == '"':
			r.i = j + 1
			if plain {
				if !keep {
					return ""
				}
				return string(r.b[start+1 : j])
			}
			var s string
			if json.Unmarshal(r.b[start:j+1], &s) != nil {
				r.bad = true
			}
			return s
		case c < 0x20 || c >= 0x80:
			plain = false
		}
	}
	r.bad = true
	return ""
}

// number reads a number, checked against JSON's grammar.
func (r *jsonReader) number() {
	digits := func() int {
		n := 0
		for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	if r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case digits() == 0:
		r.bad = true
		return
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			r.bad = true
			return
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			r.bad = true
		}
	}
}

// decodeFields decodes the fields named of the JSON object b, as
// decodeValue would decode them, and only checks the others; false when
// it leaves b to encoding/json (see decodeValue) or b is not an object.
func decodeFields(b []byte, names ...string) (map[string]any, bool) {
	r := jsonReader{b: b, only: names}
	v := r.value(0, true)
	r.space()
	m, ok := v.(map[string]any)
	if r.bad || r.i != len(b) || !ok {
		return nil, false
	}
	return m, true
}
