package rules

import (
	"sort"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UndefinedVariable reports names bound nowhere.
var UndefinedVariable = &lint.Rule{
	ID:       "NS307",
	Name:     "undefined-variable",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	Doc: `report a variable that no scope binds and no with can supply

Nix rejects the file before evaluating anything. A suggested fix offers the
closest name in scope when one is a small edit away, or builtins.x when x
is a builtin that needs the prefix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for i, id := range r.Undefined {
			name := identName(id)
			d := lint.Diagnostic{Pos: id.Pos(), End: id.End(), Message: "undefined variable `" + name + "`"}
			switch {
			case primops[name]:
				d.Fixes = []lint.Fix{{Message: "use builtins." + name, Kind: lint.Suggested, Edits: []lint.TextEdit{replace(p, id, "builtins."+name)}}}
			case i < maxSuggestions:
				if s := closest(name, r.visible(id)); s != "" {
					d.Message += "; did you mean `" + s + "`?"
					d.Fixes = []lint.Fix{{Message: "use " + s, Kind: lint.Suggested, Edits: []lint.TextEdit{replace(p, id, s)}}}
				}
			}
			p.Report(d)
		}
		return nil
	},
}

// maxSuggestions is how many undefined variables of a file get a
// suggestion, and maxCandidates how many names in scope one looks at:
// enough for a file people write, and a bound on the cost of one that a
// generator wrote.
const (
	maxSuggestions = 100
	maxCandidates  = 10000
)

// visible returns the names in scope where the variable at is, at most
// maxCandidates of them.
func (r *Resolution) visible(at *syntax.Ident) []string {
	var out []string
	for e := r.envOf[at]; e != nil && len(out) < maxCandidates; e = e.parent {
		names := make([]string, 0, len(e.names))
		for n := range e.names {
			names = append(names, n)
		}
		sort.Strings(names) // which are kept must not depend on map order
		out = append(out, names...)
	}
	if len(out) > maxCandidates {
		out = out[:maxCandidates]
	}
	for n := range primops {
		if inPrelude(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// closest returns the candidate within edit distance 2 of name (1 for
// short names), nearest first, or "".
func closest(name string, cands []string) string {
	best, bestD := "", 3
	if len(name) <= 3 {
		bestD = 2
	}
	for _, c := range cands {
		if c == name {
			continue
		}
		if d := diag.EditDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
