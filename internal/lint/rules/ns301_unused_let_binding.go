package rules

import (
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedLetBinding reports let bindings nothing live uses.
var UnusedLetBinding = &lint.Rule{
	ID:       "NS301",
	Name:     "unused-let-binding",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report let bindings that are never used

A binding is used when the let's body uses it, or a used binding of the
same let does; bindings used only by each other or by themselves are
unused together. The fix removes them: let is lazy, so an unused binding is
never evaluated and removing it changes nothing. Comments above a removed
binding are kept. When every binding goes, the let goes too.`,
	Run: runUnusedLet,
}

func runUnusedLet(p *lint.Pass) error {
	r := resolution(p)
	byLet := map[*syntax.Let][]*Binding{}
	var lets []*syntax.Let
	for _, b := range r.Bindings {
		if b.Kind != LetBinding {
			continue
		}
		l := b.Owner.(*syntax.Let)
		if byLet[l] == nil {
			lets = append(lets, l)
		}
		byLet[l] = append(byLet[l], b)
	}
	for _, l := range lets {
		bs := byLet[l]
		live := liveBindings(l, bs)
		inherited := map[syntax.AttrName]*Binding{}
		for _, b := range bs {
			if b.InheritAt != nil {
				inherited[b.InheritAt] = b
			}
		}
		dead := 0
		for _, b := range bs {
			if !live[b] {
				dead++
			}
		}
		if dead == 0 {
			continue
		}
		for _, b := range bs {
			if live[b] {
				continue
			}
			var at syntax.Node
			if len(b.Attrs) > 0 {
				at = b.Attrs[0].Path.Names[0]
			} else {
				at = b.InheritAt
			}
			d := lint.Diagnostic{Pos: at.Pos(), End: at.End(), Message: "unused let binding `" + b.Name + "`"}
			var edits []lint.TextEdit
			if dead == len(bs) && onlyBindings(l, bs) {
				edits = []lint.TextEdit{replaceRange(p, l.Pos(), l.Body.Pos(), keptComments(l))}
			} else {
				edits = removeBinding(p, b, live, inherited)
			}
			if edits != nil {
				d.Fixes = []lint.Fix{{Message: "remove the unused binding", Kind: lint.Safe, Edits: edits}}
			}
			p.Report(d)
		}
	}
	return nil
}

// onlyBindings reports whether every binding syntax of l defines one of
// bs (no Bad bindings, no dynamic names).
func onlyBindings(l *syntax.Let, bs []*Binding) bool {
	return len(l.Bindings) > 0 && l.Body != nil && l.In != nil && countBindings(bs) == len(l.Bindings)
}

func countBindings(bs []*Binding) int {
	seen := map[syntax.Node]bool{}
	for _, b := range bs {
		for _, a := range b.Attrs {
			seen[a] = true
		}
		if b.Inherit != nil {
			seen[b.Inherit] = true
		}
	}
	return len(seen)
}

// keptComments returns the comments between let and its body, each ended
// so that the body can follow.
func keptComments(l *syntax.Let) string {
	var out strings.Builder
	for _, b := range l.Bindings {
		syntax.Tokens(b, func(t *syntax.Token) {
			for _, c := range t.Leading {
				if c.Kind == syntax.LINECOMMENT {
					out.WriteString(c.Text + "\n")
				} else if c.Kind == syntax.BLOCKCOMMENT {
					out.WriteString(c.Text + " ")
				}
			}
		})
	}
	for _, c := range append(append([]syntax.Token(nil), l.In.Leading...), syntax.FirstToken(l.Body).Leading...) {
		if c.Kind == syntax.LINECOMMENT {
			out.WriteString(c.Text + "\n")
		} else if c.Kind == syntax.BLOCKCOMMENT {
			out.WriteString(c.Text + " ")
		}
	}
	return out.String()
}

// removeBinding returns the edits removing b's definitions. A name of an
// inherit whose other names are all dead takes the whole inherit.
func removeBinding(p *lint.Pass, b *Binding, live map[*Binding]bool, inherited map[syntax.AttrName]*Binding) []lint.TextEdit {
	var edits []lint.TextEdit
	for _, a := range b.Attrs {
		edits = append(edits, removal(p, a))
	}
	if in := b.Inherit; in != nil {
		if len(in.Names) == 1 {
			return append(edits, removal(p, in))
		}
		// Other names of this inherit that are alive keep it.
		alive := false
		for _, n := range in.Names {
			if o := inherited[n]; n != b.InheritAt && o != nil && live[o] {
				alive = true
			}
		}
		if !alive {
			return append(edits, removal(p, in))
		}
		edits = append(edits, removal(p, b.InheritAt))
	}
	return edits
}

// liveBindings returns which bindings of the let l are live: used by
// its body, or by the definition of a live binding. It looks each use
// up among the definitions, sorted by position, so that a let of many
// bindings costs time in proportion to its uses.
func liveBindings(l *syntax.Let, bs []*Binding) map[*Binding]bool {
	type def struct {
		pos, end syntax.Pos
		b        *Binding
	}
	var defs []def
	for _, b := range bs {
		for _, a := range b.Attrs {
			defs = append(defs, def{a.Pos(), a.End(), b})
		}
		if b.Inherit != nil && b.Inherit.From != nil {
			defs = append(defs, def{b.Inherit.From.Pos(), b.Inherit.From.End(), b})
		}
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].pos < defs[j].pos })
	// users[c] are the bindings whose definitions c's uses lie in.
	users := map[*Binding][]*Binding{}
	live := map[*Binding]bool{}
	for _, b := range bs {
		live[b] = false
	}
	var work []*Binding
	for _, b := range bs {
		for _, u := range b.Uses {
			at := u.Pos()
			if l.Body != nil && l.Body.Pos() <= at && at < l.Body.End() {
				if !live[b] {
					live[b] = true
					work = append(work, b)
				}
				continue
			}
			// The definitions of one let do not overlap: the one
			// that starts last before the use is the only candidate.
			if i := sort.Search(len(defs), func(i int) bool { return defs[i].pos > at }) - 1; i >= 0 && at < defs[i].end {
				users[defs[i].b] = append(users[defs[i].b], b)
			}
		}
	}
	for len(work) > 0 {
		c := work[len(work)-1]
		work = work[:len(work)-1]
		for _, b := range users[c] {
			if !live[b] {
				live[b] = true
				work = append(work, b)
			}
		}
	}
	return live
}
