package format

import (
	"strings"
)

// A small Wadler-style document algebra: text, line breaks that a group
// lays out flat (as a space or nothing) or broken (as a newline), hard
// breaks, nesting, and trailing comments that stay on the line they
// follow. Newlines and spaces are written lazily, so trailing whitespace
// never appears and a trailing comment lands before a pending newline.

type doc interface{}

type (
	text     string
	lineDoc  struct{ soft bool }  // a space (or nothing when soft) when flat
	hardDoc  struct{ blank bool } // a newline; an empty line with blank
	nestDoc  []doc
	groupDoc struct {
		d     []doc
		force bool // break even when it fits
		// The measures of d, when no text precedes it [0] and when some
		// does [1].
		measured [2]bool
		width    [2]int
		hasText  [2]bool
	}
	trailDoc string // a comment that stays at the end of the current line
	// spaceDoc is a space written only when text follows it on its line.
	spaceDoc struct{}
	// leadDoc holds the comments before a token. At the start of a group
	// they do not decide its layout: they are printed before it begins.
	leadDoc []doc
)

var (
	line     = lineDoc{}
	softline = lineDoc{soft: true}
	hardline = hardDoc{}
)

func cat(ds ...doc) []doc { return ds }

func group(force bool, ds ...doc) doc { return &groupDoc{d: ds, force: force} }

func nest(ds ...doc) doc { return nestDoc(ds) }

const width = 100

// maxIndent is the deepest indentation, in levels of two spaces.
const maxIndent = 64

// tooWide is any width past the line: measure saturates there.
const tooWide = width + 1

// measure returns the width of d laid out flat, at most tooWide, or -1
// when d cannot be flat (it holds a hard break, a forced group, a
// trailing comment or a multi-line text), and whether d holds text. The
// comments before a token do not count while no text has been seen:
// they are printed before the group begins. A group's measures are
// computed once, so that laying out nested groups costs time in
// proportion to their size, not to its square.
func measure(d doc, seen bool) (w int, hasText bool) {
	switch d := d.(type) {
	case nil:
		return 0, false
	case text:
		if strings.IndexByte(string(d), '\n') >= 0 {
			return -1, true
		}
		return min(len(d), tooWide), d != ""
	case lineDoc:
		if d.soft {
			return 0, false
		}
		return 1, false
	case spaceDoc:
		return 1, false
	case hardDoc, trailDoc:
		return -1, false
	case leadDoc:
		if !seen {
			return 0, false
		}
		return measureAll(d, seen)
	case nestDoc:
		return measureAll(d, seen)
	case []doc:
		return measureAll(d, seen)
	case *groupDoc:
		if d.force {
			return -1, false
		}
		i := 0
		if seen {
			i = 1
		}
		if !d.measured[i] {
			d.width[i], d.hasText[i] = measureAll(d.d, seen)
			d.measured[i] = true
		}
		return d.width[i], d.hasText[i]
	}
	panic("format: unknown doc")
}

func measureAll(ds []doc, seen bool) (w int, hasText bool) {
	for _, c := range ds {
		cw, ct := measure(c, seen || hasText)
		if cw < 0 {
			return -1, hasText || ct
		}
		w = min(w+cw, tooWide)
		hasText = hasText || ct
	}
	return w, hasText
}

type printer struct {
	b          strings.Builder
	col        int
	pendingNL  int // newlines to write before the next text
	pendingInd int
	pendingSp  bool
}

func (p *printer) text(s string) {
	if s == "" {
		return
	}
	if p.pendingNL > 0 {
		p.b.WriteString(strings.Repeat("\n", p.pendingNL))
		p.b.WriteString(strings.Repeat(" ", p.pendingInd))
		p.col = p.pendingInd
		p.pendingNL = 0
		p.pendingSp = false
	} else if p.pendingSp {
		p.b.WriteByte(' ')
		p.col++
		p.pendingSp = false
	}
	p.b.WriteString(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		p.col = len(s) - i - 1
	} else {
		p.col += len(s)
	}
}

func (p *printer) newline(n, indent int) {
	if p.b.Len() == 0 && p.pendingNL == 0 {
		return // no leading blank lines in a file
	}
	if n > p.pendingNL {
		p.pendingNL = n
	}
	p.pendingInd = indent
	p.pendingSp = false
}

func (p *printer) print(d doc, indent int, flat bool) {
	switch d := d.(type) {
	case nil:
	case text:
		p.text(string(d))
	case lineDoc:
		if flat {
			if !d.soft && p.pendingNL == 0 {
				p.pendingSp = true
			}
			return
		}
		p.newline(1, indent)
	case spaceDoc:
		if p.pendingNL == 0 {
			p.pendingSp = true
		}
	case hardDoc:
		n := 1
		if d.blank {
			n = 2
		}
		p.newline(n, indent)
	case trailDoc:
		// Written on the current line, before any pending newline.
		nl, ind := p.pendingNL, p.pendingInd
		p.pendingNL = 0
		p.pendingSp = false
		p.b.WriteByte(' ')
		p.b.WriteString(string(d))
		p.col += 1 + len(d)
		p.pendingNL, p.pendingInd = nl, ind
		if p.pendingNL == 0 {
			p.pendingSp = true
		}
	case nestDoc:
		for _, c := range d {
			p.print(c, min(indent+2, 2*maxIndent), flat)
		}
	case leadDoc:
		for _, c := range d {
			p.print(c, indent, false)
		}
	case []doc:
		for _, c := range d {
			p.print(c, indent, flat)
		}
	case *groupDoc:
		if !flat {
			col := p.col
			if p.pendingNL > 0 {
				col = p.pendingInd
			} else if p.pendingSp {
				col++
			}
			if w, _ := measure(d, false); w >= 0 && col+w <= width {
				flat = true
			}
		}
		for _, c := range d.d {
			p.print(c, indent, flat)
		}
	default:
		panic("format: unknown doc")
	}
}
