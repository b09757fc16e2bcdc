package rules_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// FuzzFix checks what lint --fix does to any input that parses:
//
//   - each fix, applied alone, changes nothing outside the smallest node
//     that holds its edits (and the region it claims): the tree around
//     that node is the same before and after, and what the fix wrote
//     parses as one node in its place;
//   - all fixes together (lint.FixFile) give a file with no more errors,
//     undefined variables included, and that a second run leaves alone;
//   - laying out what the fixes wrote (format.Regions) changes only
//     whitespace.
//
// go test runs the seeds (every rule's testdata and testdata/fuzz/FuzzFix);
// CI runs the seeds only: fuzzing it still finds faults (see .ci/run).
func FuzzFix(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.nix")
	for _, name := range files {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			t.Skip()
		}
		file := lint.Parse("fuzz.nix", []byte(src))
		if syntaxErrors(file.Errors) > 0 {
			return
		}
		for _, d := range lint.Run(rules.All, []*lint.File{file}) {
			for _, fx := range d.Fixes {
				if fx.Applicable() {
					checkOneFix(t, file, d, fx)
				}
			}
		}
		res, err := lint.FixFile(rules.All, "fuzz.nix", []byte(src), lint.FixOptions{})
		if err != nil {
			t.Fatalf("fixing %q: %v", src, err)
		}
		again, err := lint.FixFile(rules.All, "fuzz.nix", res.Src, lint.FixOptions{})
		if err != nil || len(again.Applied) > 0 {
			t.Fatalf("fixing is not idempotent: a second run on\n%s\napplied %d fixes (%v)", res.Src, len(again.Applied), err)
		}
		fixed, errs := syntax.Parse("fuzz.nix", res.Src)
		if syntaxErrors(errs) > 0 {
			t.Fatalf("fixed file does not parse: %v\n%s", errs, res.Src)
		}
		spans := make([]format.Span, len(res.Touched))
		for i, s := range res.Touched {
			spans[i] = format.Span{Pos: s.Pos, End: s.End}
		}
		laid, err := format.Regions(fixed, spans)
		if err != nil {
			t.Fatalf("laying out the fixes: %v", err)
		}
		if a, b := tokenTexts(res.Src), tokenTexts(laid); a != b {
			t.Fatalf("laying out the fixes changed more than whitespace:\n%s\n---\n%s", res.Src, laid)
		}
	})
}

// checkOneFix applies fx alone and checks that the tree outside the
// smallest node holding its edits is unchanged.
func checkOneFix(t *testing.T, file *lint.File, d lint.Diagnostic, fx lint.Fix) {
	t.Helper()
	src := file.Syntax.Src
	lo, hi := fx.Edits[0].Pos, fx.Edits[0].End
	for _, e := range fx.Edits {
		lo, hi = min(lo, e.Pos), max(hi, e.End)
	}
	if fx.Pos.IsValid() {
		lo, hi = min(lo, fx.Pos), max(hi, fx.End)
	}
	// The smallest node holding [lo, hi).
	var holder syntax.Node = file.Syntax
	syntax.Inspect(file.Syntax, func(n syntax.Node) bool {
		// A node that only ends where an insertion goes does not hold
		// it: the next one does.
		if n.Pos() <= lo && hi <= n.End() && n.Pos().IsValid() && !(lo == hi && n.End() == lo && n.Pos() < lo) {
			if n.Pos() != holder.Pos() || n.End() != holder.End() {
				holder = n // the outermost of the nodes with one range
			}
			return true
		}
		return false
	})
	out := lint.Edit(src, fx.Edits)
	nf, errs := syntax.Parse("fuzz.nix", out)
	// Alone, a fix may leave a name undefined that a fix applied with it
	// removes (dead let bindings go together); the grammar must hold.
	if syntaxErrors(errs) > syntaxErrors(file.Errors) {
		t.Fatalf("%s (%s): fix %q breaks the file: %v\nbefore:\n%s\nafter:\n%s", d.Rule.ID, d.Message, fx.Message, errs, src, out)
	}
	// The holder's text is replaced; find what stands in its place: the
	// node from the first token of the new text to its last (comments a
	// fix keeps may come first). A fix that deletes the holder (a
	// binding, an element) changes the node around it instead.
	var start, end syntax.Pos
	for {
		if _, whole := holder.(*syntax.File); whole {
			return
		}
		from, to := holder.Pos(), holder.End()+syntax.Pos(len(out)-len(src))
		start, end = syntax.NoPos, syntax.NoPos
		syntax.Tokens(nf, func(tok *syntax.Token) {
			if tok.Start >= from && tok.End() <= to && tok.Kind != syntax.EOF {
				if !start.IsValid() {
					start = tok.Start
				}
				end = tok.End()
			}
		})
		if start.IsValid() {
			break
		}
		holder = parentOf(file, holder)
	}
	var place syntax.Node
	syntax.Inspect(nf, func(n syntax.Node) bool {
		if _, file := n.(*syntax.File); file {
			return true // a file with nothing around its expression spans it too
		}
		if n.Pos() == start && n.End() == end {
			place = n // the outermost such node
			return false
		}
		return n.Pos() <= start && end <= n.End()
	})
	if place == nil {
		t.Fatalf("%s (%s): fix %q writes %q in place of %q, which is no node of its own: the code around it changes meaning\nbefore:\n%s\nafter:\n%s",
			d.Rule.ID, d.Message, fx.Message, out[start.Offset():end.Offset()], src[holder.Pos().Offset():holder.End().Offset()], src, out)
	}
	if a, b := skeleton(file.Syntax, holder), skeleton(nf, place); a != b {
		t.Fatalf("%s (%s): fix %q changes the tree outside the node it edits\nbefore:\n%s\nafter:\n%s\nskeletons:\n%s\n%s", d.Rule.ID, d.Message, fx.Message, src, out, a, b)
	}
}

// skeleton prints the tree of f with the node hole replaced by a mark:
// the kinds of the nodes and the texts of their tokens, in order.
func skeleton(f *syntax.File, hole syntax.Node) string {
	var b strings.Builder
	var walk func(n syntax.Node)
	walk = func(n syntax.Node) {
		if n == hole {
			b.WriteString("<hole>")
			return
		}
		b.WriteString("(" + strings.TrimPrefix(typeName(n), "*syntax."))
		var kids []syntax.Node
		syntax.Inspect(n, func(c syntax.Node) bool {
			if c == n {
				return true
			}
			kids = append(kids, c)
			return false
		})
		if len(kids) == 0 {
			syntax.Tokens(n, func(t *syntax.Token) { b.WriteString(" " + t.Text) })
		}
		for _, c := range kids {
			b.WriteByte(' ')
			walk(c)
		}
		b.WriteByte(')')
	}
	walk(f.Expr)
	return b.String()
}

func typeName(n syntax.Node) string { return fmt.Sprintf("%T", n) }

// tokenTexts returns the tokens of src, without trivia.
func tokenTexts(src []byte) string {
	f, _ := syntax.Parse("fuzz.nix", src)
	var b bytes.Buffer
	syntax.Tokens(f, func(tok *syntax.Token) {
		b.WriteString(tok.Text)
		b.WriteByte(0)
	})
	return b.String()
}

// syntaxErrors counts the errors that are not undefined variables.
func syntaxErrors(l diag.List) int {
	n := 0
	for _, e := range l {
		if e.Code != syntax.UndefinedVariable {
			n++
		}
	}
	return n
}

// parentOf returns the node of f that directly holds n.
func parentOf(f *lint.File, n syntax.Node) syntax.Node {
	var parent syntax.Node = f.Syntax
	var stack []syntax.Node
	syntax.Walk(visitor(func(m syntax.Node) bool {
		if m == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		if m == n && len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		stack = append(stack, m)
		return true
	}), f.Syntax)
	return parent
}

type visitor func(syntax.Node) bool

func (v visitor) Visit(n syntax.Node) syntax.Visitor {
	if v(n) {
		return v
	}
	return nil
}
