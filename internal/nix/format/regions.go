package format

import (
	"bytes"
	"errors"
	"sort"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A Span is the range [Pos, End) of a file; Pos == End marks a place.
type Span struct{ Pos, End syntax.Pos }

// Regions returns the source of the parsed file f with the bindings and
// function arguments that hold the spans laid out canonically, each as
// it would be at its place, and every other byte kept. For each span it
// takes the innermost binding (a = …; or inherit …;) or argument set
// ({ a, b, … }) containing it; a span that none contains is left as it
// is. A fixer uses it to lay out what it wrote without reformatting a
// file its author laid out by hand.
func Regions(f *syntax.File, spans []Span) ([]byte, error) {
	if f.Src == nil {
		return nil, errors.New("format: Regions needs a parsed file")
	}
	// The candidates: every binding and argument set, in source order.
	var cands []syntax.Node
	syntax.Inspect(f, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.Attr, *syntax.Inherit, *syntax.Formals:
			cands = append(cands, n)
		case *syntax.Bad:
			return false
		}
		return true
	})
	chosen := map[syntax.Node]bool{}
	for _, s := range spans {
		var best syntax.Node
		for _, c := range cands { // innermost: the last in preorder that contains s
			if c.Pos() > s.Pos {
				break
			}
			if contains(c, s) {
				best = c
			}
		}
		if best != nil {
			chosen[best] = true
			continue
		}
		// No binding holds the span (a let written where a with was):
		// lay out the bindings inside it.
		for _, c := range cands {
			if s.Pos <= c.Pos() && c.End() <= s.End {
				chosen[c] = true
			}
		}
	}
	var nodes []syntax.Node
	for n := range chosen {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Pos() < nodes[j].Pos() })
	var out bytes.Buffer
	last := 0 // offset in f.Src written up to
	for _, n := range nodes {
		start, end := n.Pos().Offset(), n.End().Offset()
		if start < last {
			continue // inside a node already laid out
		}
		text, err := region(f, n)
		if err != nil {
			continue // leave what the formatter cannot lay out
		}
		out.Write(f.Src[last:start])
		out.Write(text)
		last = end
	}
	out.Write(f.Src[last:])
	return out.Bytes(), nil
}

// contains reports whether n holds the span s: a range within it, or a
// place strictly inside it.
func contains(n syntax.Node, s Span) bool {
	if s.Pos == s.End {
		return n.Pos() < s.Pos && s.Pos < n.End()
	}
	return n.Pos() <= s.Pos && s.End <= n.End()
}

// region lays out the binding or argument set n of f as it would be at
// its place: starting at its column, lines after the first indented from
// the indentation of its line, and the comments before it left where
// they are.
func region(f *syntax.File, n syntax.Node) ([]byte, error) {
	bad := false
	syntax.Inspect(n, func(n syntax.Node) bool {
		_, isBad := n.(*syntax.Bad)
		bad = bad || isBad
		return !bad
	})
	if bad {
		return nil, errors.New("format: the tree has syntax errors")
	}
	fm := &formatter{file: f, started: true, skipLead: syntax.FirstToken(n)}
	var d doc
	switch n := n.(type) {
	case *syntax.Attr, *syntax.Inherit:
		d = fm.binding(n.(syntax.Binding))
	case *syntax.Formals:
		d = fm.formals(n)
	}
	if fm.err != nil {
		return nil, fm.err
	}
	start := n.Pos().Offset()
	lineStart := bytes.LastIndexByte(f.Src[:start], '\n') + 1
	indent := 0
	for indent < start-lineStart && (f.Src[lineStart+indent] == ' ' || f.Src[lineStart+indent] == '\t') {
		indent++
	}
	p := &printer{col: start - lineStart}
	p.print(d, indent, false)
	return []byte(p.b.String()), nil
}
