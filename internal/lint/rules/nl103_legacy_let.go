package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// LegacyLet reports let { …; body = …; }.
var LegacyLet = &lint.Rule{
	ID:       "NL103",
	Name:     "legacy-let",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report the legacy let { …; body = e; }, which is let … in e

Nix reads let { bindings } as (rec { bindings }).body. The syntax is
undocumented and deprecated; let … in says the same plainly.

The fix rewrites it to let … in e, guarded: body must be defined once, as
body = e;, and nothing may use the name body (not another binding, not e
itself), since after the rewrite body is no longer bound. It is withheld
when a binding has a dynamic name (allowed in a rec set, forbidden in let),
when a binding is named __overrides (a rec set applies it, a let does
not), and when it would lose a comment (one in or after the body binding,
or between let and {). The result is parenthesised unless it
stands where a let can.`,
	Run: runLegacyLet,
}

func runLegacyLet(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		l, ok := n.(*syntax.LegacyLet)
		if !ok || l.Close == nil {
			continue
		}
		d := lint.Diagnostic{Pos: l.Pos(), End: l.Open.End(), Message: "legacy `let { … }`; write `let … in`"}
		if fix := legacyLetFix(p, r, l); fix != nil {
			d.Fixes = []lint.Fix{*fix}
		}
		p.Report(d)
	}
	return nil
}

// legacyLetFix returns the rewrite of l to let … in, or nil when its
// guard does not hold.
func legacyLetFix(p *lint.Pass, r *Resolution, l *syntax.LegacyLet) *lint.Fix {
	for _, c := range l.Open.Leading {
		if c.Kind != syntax.SPACE {
			return nil
		}
	}
	var body *syntax.Attr
	for _, bd := range l.Bindings {
		switch bd := bd.(type) {
		case *syntax.Attr:
			if bd.Path == nil || len(bd.Path.Names) == 0 || bd.Semi == nil {
				return nil
			}
			name, ok := staticName(bd.Path.Names[0])
			switch {
			case !ok, name == "__overrides":
				return nil
			case name == "body" && len(bd.Path.Names) == 1 && body == nil:
				body = bd
			case name == "body":
				return nil // body.x = …; or body twice
			}
		case *syntax.Inherit:
			for _, n := range bd.Names {
				if name, ok := staticName(n); !ok || name == "body" || name == "__overrides" {
					return nil
				}
			}
		default:
			return nil
		}
	}
	// The fix removes the body binding and any comment trailing on its
	// line; those comments would be lost.
	if body == nil || body.Value == nil || p.HasComments(body) || trailingComment(p, body) {
		return nil
	}
	for _, b := range r.BindingsOf(l) {
		if b.Name == "body" && len(b.Uses) > 0 {
			return nil
		}
	}
	open, closing := "let", "in "+p.Source(body.Value)
	// let{ and ;} need a space where the braces stood, or the words run
	// into their neighbours (letin).
	src := p.File.Src
	// What follows let is what follows {, or what follows the body
	// binding when its removal starts right after { (taking the space
	// before it).
	rm := removal(p, body)
	next := l.Open.End().Offset()
	if rm.Pos == l.Open.End() {
		next = rm.End.Offset()
	}
	if next < len(src) && !isSpace(src[next]) {
		open += " "
	}
	if off := l.Close.Pos().Offset(); off > 0 && !isSpace(src[off-1]) {
		closing = " " + closing
	}
	if !letPosition(p, l) {
		open, closing = "("+open, closing+")"
	}
	return &lint.Fix{Message: "rewrite as let … in", Kind: lint.Guarded, Edits: []lint.TextEdit{
		{Pos: l.Pos(), End: l.Open.End(), NewText: open},
		rm,
		{Pos: l.Close.Pos(), End: l.Close.End(), NewText: closing},
	}}
}

// letPosition reports whether an expression of the lowest precedence (a
// let, with, assert, if or function) can replace n without parentheses.
func letPosition(p *lint.Pass, n syntax.Expr) bool {
	switch parent := p.Parent(n).(type) {
	case *syntax.File, *syntax.Paren, *syntax.Interpolation, *syntax.If:
		return true
	case *syntax.Attr:
		return parent.Value == n
	case *syntax.Let:
		return parent.Body == n
	case *syntax.With:
		return parent.Body == n
	case *syntax.Assert:
		return parent.Body == n
	case *syntax.Lambda:
		return parent.Body == n
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
