package lint

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ApplyFixes applies to src the first applicable fix of each diagnostic,
// in source order, skipping a fix when one of its edits overlaps an edit
// already chosen (a later pass can apply it). It returns the new source
// and the diagnostics whose fix was applied.
func ApplyFixes(src []byte, diags []Diagnostic) ([]byte, []Diagnostic) {
	edits, applied := chooseFixes(diags, nil)
	return Edit(src, edits), applied
}

// chooseFixes picks the edits ApplyFixes applies, of the diagnostics that
// apply selects (all when it is nil).
func chooseFixes(diags []Diagnostic, apply func(Diagnostic) bool) ([]TextEdit, []Diagnostic) {
	type chosen struct {
		d   Diagnostic
		fix Fix
	}
	var cands []chosen
	for _, d := range diags {
		if apply != nil && !apply(d) {
			continue
		}
		if f, ok := firstFix(d); ok {
			cands = append(cands, chosen{d, f})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return minPos(cands[i].fix) < minPos(cands[j].fix) })
	var edits []TextEdit
	var applied []Diagnostic
	var taken claims
	for _, c := range cands {
		claim := append([]TextEdit(nil), c.fix.Edits...)
		if c.fix.Pos.IsValid() {
			claim = append(claim, TextEdit{Pos: c.fix.Pos, End: c.fix.End})
		}
		ok := true
		for _, e := range claim {
			ok = ok && !taken.overlaps(e)
		}
		if ok {
			edits = append(edits, c.fix.Edits...)
			for _, e := range claim {
				taken.add(e)
			}
			applied = append(applied, c.d)
		}
	}
	return edits, applied
}

// claims are the places the fixes chosen so far write or change: the
// union of their ranges, sorted and disjoint; the places where they
// insert, sorted; and the places they start at, where no other fix may
// start. Checking a fix against them costs a search, not a pass over
// every fix chosen; the result is that of overlaps against each.
type claims struct {
	spans  []TextEdit   // merged ranges, sorted by Pos
	points []syntax.Pos // insertions, sorted
	starts map[syntax.Pos]bool
}

// overlaps reports whether e overlaps a claim.
func (c *claims) overlaps(e TextEdit) bool {
	if c.starts[e.Pos] {
		return true
	}
	i := sort.Search(len(c.spans), func(i int) bool { return c.spans[i].End > e.Pos })
	if i < len(c.spans) {
		if m := c.spans[i]; e.End > e.Pos && m.Pos < e.End || e.End <= e.Pos && m.Pos < e.Pos {
			return true
		}
	}
	j := sort.Search(len(c.points), func(j int) bool { return c.points[j] > e.Pos })
	return j < len(c.points) && c.points[j] < e.End
}

func (c *claims) add(e TextEdit) {
	if c.starts == nil {
		c.starts = map[syntax.Pos]bool{}
	}
	c.starts[e.Pos] = true
	if e.End <= e.Pos {
		j := sort.Search(len(c.points), func(j int) bool { return c.points[j] >= e.Pos })
		c.points = append(c.points[:j], append([]syntax.Pos{e.Pos}, c.points[j:]...)...)
		return
	}
	i := sort.Search(len(c.spans), func(i int) bool { return c.spans[i].End >= e.Pos })
	j := i
	for j < len(c.spans) && c.spans[j].Pos <= e.End {
		e.Pos, e.End = min(e.Pos, c.spans[j].Pos), max(e.End, c.spans[j].End)
		j++
	}
	c.spans = append(c.spans[:i], append([]TextEdit{e}, c.spans[j:]...)...)
}

func minPos(f Fix) int {
	if f.Pos.IsValid() {
		return int(f.Pos)
	}
	m := -1
	for _, e := range f.Edits {
		if m < 0 || int(e.Pos) < m {
			m = int(e.Pos)
		}
	}
	return m
}

// overlaps reports whether two edits touch the same bytes or insert at
// the same place.
func overlaps(a, b TextEdit) bool {
	if a.Pos == b.Pos {
		return true
	}
	return a.Pos < b.End && b.Pos < a.End
}

// Edit applies non-overlapping edits to src.
func Edit(src []byte, edits []TextEdit) []byte {
	edits = append([]TextEdit(nil), edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Pos < edits[j].Pos })
	var b bytes.Buffer
	last := 0
	for _, e := range edits {
		b.Write(src[last:e.Pos.Offset()])
		b.WriteString(e.NewText)
		last = e.End.Offset()
	}
	b.Write(src[last:])
	return b.Bytes()
}

// worse reports whether the errors after fixing are worse than those
// before: more syntax errors, or more undefined variables. Counted
// together, one syntax error that hides the rest of a file would pass
// for an improvement on a file with several undefined variables.
func worse(after, before diag.List) bool {
	count := func(l diag.List) (grammar, undefined int) {
		for _, d := range l {
			if d.Code == syntax.UndefinedVariable {
				undefined++
			} else {
				grammar++
			}
		}
		return grammar, undefined
	}
	ga, ua := count(after)
	gb, ub := count(before)
	return ga > gb || ua > ub
}

// firstFix returns the fix of d that --fix applies: its first applicable
// fix with edits.
func firstFix(d Diagnostic) (Fix, bool) {
	for _, f := range d.Fixes {
		if f.Applicable() && len(f.Edits) > 0 {
			return f, true
		}
	}
	return Fix{}, false
}

// onlyDeletes reports whether d's fix removes text and writes none.
func onlyDeletes(d Diagnostic) bool {
	fx, _ := firstFix(d)
	for _, e := range fx.Edits {
		if e.NewText != "" {
			return false
		}
	}
	return true
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// MaxFixPasses bounds the passes of FixSource.
const MaxFixPasses = 16

// FixSource lints src, the Nix file name, with rules and applies their
// applicable fixes pass by pass until no fix applies. Each pass
// re-parses; a pass whose result has more parse errors than its input is
// refused, as are fixes that cycle or do not settle within MaxFixPasses.
// It returns the fixed source and every diagnostic whose fix was applied.
func FixSource(rules []*Rule, name string, src []byte) ([]byte, []Diagnostic, error) {
	r, err := FixFile(rules, name, src, FixOptions{})
	if err != nil {
		return src, r.Applied, err
	}
	return r.Src, r.Applied, nil
}

// FixOptions select what FixFile applies.
type FixOptions struct {
	// Apply, when set, selects the findings whose fixes FixFile may apply;
	// when nil, every applicable fix is.
	Apply func(Diagnostic) bool
}

// A FixResult is what FixFile did to one file.
type FixResult struct {
	// Src is the fixed source; the input when nothing was fixed.
	Src []byte
	// Applied are the diagnostics whose fix was applied.
	Applied []Diagnostic
	// Touched are the ranges of Src that fixes wrote, in order and
	// disjoint; a deletion leaves an empty range where it was.
	Touched []Span
}

// A Span is the range [Pos, End) of a file.
type Span struct{ Pos, End syntax.Pos }

// FixFile is FixSource with options, and says where it wrote. On error
// the result holds the source and fixes of the last pass that succeeded.
func FixFile(rules []*Rule, name string, src []byte, opts FixOptions) (*FixResult, error) {
	res := &FixResult{Src: src}
	seen := map[string]bool{string(src): true}
	f := Parse(name, src)
	for pass := 0; pass < MaxFixPasses; pass++ {
		diags := Run(rules, []*File{f})
		edits, did := chooseFixes(diags, opts.Apply)
		if len(did) == 0 {
			return res, nil
		}
		out := Edit(res.Src, edits)
		nf := Parse(name, out)
		if worse(nf.Errors, f.Errors) {
			// Fixes sound alone can clash: NS303 drops the formal lib
			// that NM403's lib.mkIf is about to use. Keep each fix that
			// breaks nothing with those kept before it, fixes that only
			// delete last (what they delete may be what another starts
			// to use); the next pass lints what they leave.
			order := slices.Clone(did)
			slices.SortStableFunc(order, func(a, b Diagnostic) int {
				return cmpBool(onlyDeletes(a), onlyDeletes(b))
			})
			var keep []TextEdit
			var kept []Diagnostic
			for _, d := range order {
				fx, _ := firstFix(d)
				try := append(slices.Clone(keep), fx.Edits...)
				if tf := Parse(name, Edit(res.Src, try)); !worse(tf.Errors, f.Errors) {
					keep, kept = try, append(kept, d)
				}
			}
			if len(kept) == 0 {
				return res, fmt.Errorf("%s: fixes by %s would break the file: %s", name, ruleIDs(did), nf.Errors[0].Summary)
			}
			edits, did = keep, kept
			out = Edit(res.Src, edits)
			nf = Parse(name, out)
		}
		if seen[string(out)] {
			return res, fmt.Errorf("%s: fixes by %s do not converge", name, ruleIDs(did))
		}
		seen[string(out)] = true
		res.Applied = append(res.Applied, did...)
		res.Touched = touched(res.Touched, edits)
		res.Src, f = out, nf
	}
	return res, fmt.Errorf("%s: fixes did not settle after %d passes", name, MaxFixPasses)
}

// touched maps the spans old, of a source, through edits made to it, and
// adds the spans the edits wrote.
func touched(old []Span, edits []TextEdit) []Span {
	edits = append([]TextEdit(nil), edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Pos < edits[j].Pos })
	// delta[i] is how far the edits before edits[i] moved the text.
	delta := make([]int, len(edits)+1)
	for i, e := range edits {
		delta[i+1] = delta[i] + len(e.NewText) - int(e.End-e.Pos)
	}
	// move maps a position; one inside an edit goes to the start of what
	// replaced it, or to its end when end is set.
	move := func(p syntax.Pos, end bool) syntax.Pos {
		i := sort.Search(len(edits), func(i int) bool { return edits[i].End > p || edits[i].Pos >= p }) // first edit not before p
		if i < len(edits) && edits[i].Pos < p {
			start := edits[i].Pos + syntax.Pos(delta[i])
			if end {
				return start + syntax.Pos(len(edits[i].NewText))
			}
			return start
		}
		return p + syntax.Pos(delta[i])
	}
	var out []Span
	for _, s := range old {
		out = append(out, Span{move(s.Pos, false), move(s.End, true)})
	}
	for i, e := range edits {
		start := e.Pos + syntax.Pos(delta[i])
		out = append(out, Span{start, start + syntax.Pos(len(e.NewText))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.Pos <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, s.End)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

func ruleIDs(ds []Diagnostic) string {
	seen := map[string]bool{}
	var ids []string
	for _, d := range ds {
		if !seen[d.Rule.ID] {
			seen[d.Rule.ID] = true
			ids = append(ids, d.Rule.ID)
		}
	}
	sort.Strings(ids)
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}
