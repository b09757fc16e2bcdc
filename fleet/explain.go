package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/internal/merge"
)

// A Provenance says where one value of a host came from: the layer and
// file:line:col that set it, and every value it overrode.
type Provenance struct {
	// Path is the value's path in the host, dot-separated.
	Path string
	// Value is the final value, as Value returns data.
	Value any
	// Set is where the final value was written.
	Set Origin
	// Overridden are the values of lower layers that Set replaced,
	// highest layer first.
	Overridden []Origin
}

// An Origin is one value some layer gave a field, and where.
type Origin struct {
	// Layer is "schema default", "hardware profile", "template", "user",
	// "profile" or "host".
	Layer string
	// Source names the contributor: `template "workstation"`.
	Source string
	// Pos is where the value is written.
	Pos Position
	// Value is the value that source gave.
	Value any
}

// Explain returns the provenance of the value at path in host: one entry
// for a leaf, one per leaf below path for a struct, in path order. Paths
// are dot-separated; quote a label that is not an identifier
// (users.alice.home."git-lfs").
func (f *Fleet) Explain(host, path string) ([]Provenance, error) {
	h := f.byName[host]
	if h == nil {
		_, err := f.Select(host)
		return nil, err
	}
	sel, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	final, err := h.Value()
	if err != nil {
		return nil, err
	}
	var at any = final
	for i, s := range sel {
		m, ok := at.(map[string]any)
		if !ok || isMarker(m) {
			return nil, fmt.Errorf("%s has no field %s: %s is not a struct", host, formatPath(sel[:i+1]), formatPath(sel[:i]))
		}
		if at, ok = m[s]; !ok {
			return nil, fmt.Errorf("%s has no field %s", host, formatPath(sel[:i+1]))
		}
	}
	var unified cue.Value
	var uerr error
	var out []Provenance
	var walk func(p []string, v any)
	walk = func(p []string, v any) {
		if m, ok := v.(map[string]any); ok && !isMarker(m) && len(m) > 0 {
			for _, k := range sortedNames(m) {
				walk(append(p[:len(p):len(p)], k), m[k])
			}
			return
		}
		pr := Provenance{Path: formatPath(p), Value: v}
		if n := h.tree().Lookup(p...); n != nil && n.IsLeaf() {
			pr.Set = origin(*n.Leaf())
			for i := len(n.Overridden) - 1; i >= 0; i-- {
				pr.Overridden = append(pr.Overridden, origin(n.Overridden[i]))
			}
		} else {
			if !unified.Exists() {
				if unified, uerr = f.l.Value(h.h); uerr != nil {
					return
				}
			}
			pr.Set = Origin{
				Layer:  merge.Schema.String(),
				Source: merge.Schema.String(),
				Pos:    position(merge.Range(unified.LookupPath(cuePath(p)).Pos())),
				Value:  v,
			}
		}
		out = append(out, pr)
	}
	walk(sel, at)
	if uerr != nil {
		return nil, uerr
	}
	return out, nil
}

func origin(o merge.Origin) Origin {
	return Origin{Layer: o.Source.Layer.String(), Source: o.Source.String(), Pos: position(o.Range), Value: jsonData(o.Value)}
}

// jsonData turns merge data into the shapes Value returns.
func jsonData(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if d.Decode(&out) != nil {
		return v
	}
	return out
}

func position(r diag.Range) Position {
	return Position{File: r.File, Line: r.Start.Line, Column: r.Start.Col, Offset: r.Start.Offset}
}

func isMarker(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return strings.HasPrefix(k, "$")
	}
	return false
}

func cuePath(p []string) cue.Path {
	sels := make([]cue.Selector, len(p))
	for i, s := range p {
		sels[i] = cue.Str(s)
	}
	return cue.MakePath(sels...)
}

// ParsePath splits a dot-separated path into labels. A label may be a
// double-quoted string ("git-lfs", "a.b").
func ParsePath(path string) ([]string, error) {
	var out []string
	rest := strings.TrimSpace(path)
	if rest == "" || rest == "." {
		return nil, nil
	}
	for {
		var label string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return nil, fmt.Errorf("path %q: unterminated quoted label", path)
			}
			s, err := strconv.Unquote(rest[:end+1])
			if err != nil {
				return nil, fmt.Errorf("path %q: %v", path, err)
			}
			label, rest = s, rest[end+1:]
		} else {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				i = len(rest)
			}
			label, rest = rest[:i], rest[i:]
			if label == "" {
				return nil, fmt.Errorf("path %q: empty label", path)
			}
		}
		out = append(out, label)
		if rest == "" {
			return out, nil
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("path %q: expected . after label %q", path, label)
		}
		rest = rest[1:]
	}
}

// formatPath joins labels with dots, quoting those that are not plain
// names, as ParsePath reads them.
func formatPath(p []string) string { return load.FormatPath(p) }

// FormatPath joins labels with dots, quoting those that are not plain
// names, as ParsePath reads them: the inverse of ParsePath.
func FormatPath(p []string) string { return load.FormatPath(p) }
