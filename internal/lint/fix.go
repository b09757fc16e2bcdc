package lint

import (
	"bytes"
	"fmt"
	"sort"
)

// ApplyFixes applies to src the first applicable fix of each diagnostic,
// in source order, skipping a fix when one of its edits overlaps an edit
// already chosen (a later pass can apply it). It returns the new source
// and the diagnostics whose fix was applied.
func ApplyFixes(src []byte, diags []Diagnostic) ([]byte, []Diagnostic) {
	type chosen struct {
		d   Diagnostic
		fix Fix
	}
	var cands []chosen
	for _, d := range diags {
		for _, f := range d.Fixes {
			if f.Applicable() && len(f.Edits) > 0 {
				cands = append(cands, chosen{d, f})
				break
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return minPos(cands[i].fix) < minPos(cands[j].fix) })
	var edits, taken []TextEdit
	var applied []Diagnostic
	for _, c := range cands {
		claim := append([]TextEdit(nil), c.fix.Edits...)
		if c.fix.Pos.IsValid() {
			claim = append(claim, TextEdit{Pos: c.fix.Pos, End: c.fix.End})
		}
		ok := true
		for _, e := range claim {
			for _, o := range taken {
				if overlaps(e, o) {
					ok = false
				}
			}
		}
		if ok {
			edits = append(edits, c.fix.Edits...)
			taken = append(taken, claim...)
			applied = append(applied, c.d)
		}
	}
	return Edit(src, edits), applied
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

// MaxFixPasses bounds the passes of FixSource.
const MaxFixPasses = 16

// FixSource lints src, the Nix file name, with rules and applies their
// applicable fixes pass by pass until no fix applies. Each pass
// re-parses; a pass whose result has more parse errors than its input is
// refused, as are fixes that cycle or do not settle within MaxFixPasses.
// It returns the fixed source and every diagnostic whose fix was applied.
func FixSource(rules []*Rule, name string, src []byte) ([]byte, []Diagnostic, error) {
	var applied []Diagnostic
	seen := map[string]bool{string(src): true}
	f := Parse(name, src)
	for pass := 0; pass < MaxFixPasses; pass++ {
		diags := Run(rules, []*File{f})
		out, did := ApplyFixes(src, diags)
		if len(did) == 0 {
			return src, applied, nil
		}
		nf := Parse(name, out)
		if len(nf.Errors) > len(f.Errors) {
			return src, applied, fmt.Errorf("%s: fixes by %s would break the file: %s", name, ruleIDs(did), nf.Errors[0].Summary)
		}
		if seen[string(out)] {
			return src, applied, fmt.Errorf("%s: fixes by %s do not converge", name, ruleIDs(did))
		}
		seen[string(out)] = true
		applied = append(applied, did...)
		src, f = out, nf
	}
	return src, applied, fmt.Errorf("%s: fixes did not settle after %d passes", name, MaxFixPasses)
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
