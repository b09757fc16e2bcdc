package rules

import (
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// RepeatedKeys reports three or more foo.x = …; bindings of one set.
var RepeatedKeys = &lint.Rule{
	ID:       "NL217",
	Name:     "repeated-keys",
	Severity: diag.Info,
	Doc: `report three or more bindings foo.a = …; foo.b = …; of one set or let

They define one attribute foo piece by piece; foo = { a = …; b = …; };
says so once. The fix gathers them, in order, where the first one stood.
It is guarded: foo must be defined only by such bindings (not also by
foo = …; or inherit foo;, where whether the parts merge depends on
whether that value is a set literal), and no comment may sit before, inside or after
any of them, since such a comment belongs to one binding and would be
moved or lost. rec sets and legacy lets are left alone: the nested set's
values would see the same names, but the catalogue keeps the guard and
nothing is lost by reporting only.`,
	Run: runRepeatedKeys,
}

func runRepeatedKeys(p *lint.Pass) error {
	for _, n := range p.Nodes() {
		var bs []syntax.Binding
		rec := false
		switch n := n.(type) {
		case *syntax.AttrSet:
			bs, rec = n.Bindings, n.Rec != nil
		case *syntax.Let:
			bs = n.Bindings
		case *syntax.LegacyLet:
			bs, rec = n.Bindings, true
		default:
			continue
		}
		groups := map[string][]*syntax.Attr{}
		whole := map[string]bool{} // names also defined by foo = … or inherit
		var order []string
		for _, bd := range bs {
			switch bd := bd.(type) {
			case *syntax.Attr:
				if bd.Path == nil || len(bd.Path.Names) == 0 {
					continue
				}
				name, ok := staticName(bd.Path.Names[0])
				if !ok {
					continue
				}
				if len(bd.Path.Names) == 1 {
					whole[name] = true
					continue
				}
				if groups[name] == nil {
					order = append(order, name)
				}
				groups[name] = append(groups[name], bd)
			case *syntax.Inherit:
				for _, in := range bd.Names {
					if name, ok := staticName(in); ok {
						whole[name] = true
					}
				}
			}
		}
		for _, name := range order {
			as := groups[name]
			if len(as) < 3 {
				continue
			}
			d := lint.Diagnostic{Pos: as[0].Pos(), End: as[0].Path.End(),
				Message: "`" + p.Source(as[0].Path.Names[0]) + "` is defined by " + strconv.Itoa(len(as)) + " separate bindings; write it as one set"}
			if !rec && !whole[name] && !anyComments(p, as) {
				d.Fixes = []lint.Fix{{Message: "gather them into one set", Kind: lint.Guarded, Edits: gatherEdits(p, as)}}
			}
			p.Report(d)
		}
	}
	return nil
}

// anyComments reports whether a comment sits before, inside or (but for
// the first, which stays in place) after any of as, or one of them is
// broken.
func anyComments(p *lint.Pass, as []*syntax.Attr) bool {
	for i, a := range as {
		if p.HasComments(a) || i > 0 && trailingComment(p, a) {
			return true
		}
		if a.Semi == nil {
			return true // broken binding: not understood
		}
		for _, c := range syntax.FirstToken(a).Leading {
			if c.Kind != syntax.SPACE {
				return true
			}
		}
	}
	return false
}

// gatherEdits replaces the first of as by foo = { …; }; holding all of
// them without their first name, and removes the others.
func gatherEdits(p *lint.Pass, as []*syntax.Attr) []lint.TextEdit {
	src := p.File.Src
	// The column of the first binding, if it starts its line.
	start := as[0].Pos().Offset()
	ls := start
	for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
		ls--
	}
	var b strings.Builder
	b.WriteString(p.Source(as[0].Path.Names[0]) + " = {")
	multiline := ls == 0 || src[ls-1] == '\n'
	indent := string(src[ls:start])
	for _, a := range as {
		inner := p.Text(a.Path.Names[1].Pos(), a.End())
		if multiline {
			b.WriteString("\n" + indent + "  " + inner)
		} else {
			b.WriteString(" " + inner)
		}
	}
	if multiline {
		b.WriteString("\n" + indent + "};")
	} else {
		b.WriteString(" };")
	}
	edits := []lint.TextEdit{replace(p, as[0], b.String())}
	for _, a := range as[1:] {
		// A removal may start in the one before it (that one took a
		// whole line and its newline, this one the space before it,
		// the same newline): the two are one deletion.
		e := removal(p, a)
		if last := edits[len(edits)-1]; e.Pos < last.End {
			e.Pos = last.End
		}
		edits = append(edits, e)
	}
	return edits
}
