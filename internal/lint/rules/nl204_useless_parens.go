package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UselessParens reports parentheses that change nothing.
var UselessParens = &lint.Rule{
	ID:       "NL204",
	Name:     "useless-parens",
	Severity: diag.Info,
	Doc: `report parentheses that change nothing, such as a = (x);

Parentheses are reported when they hold a single operand (a variable,
literal, string, list, set or select) or fill a whole binding value, let
body, with body, assert body, function body or interpolation. The fix
removes them only where the precedence table proves the tree unchanged, so
nix-instantiate --parse prints the same expression before and after; it is
withheld where removing them would join two tokens.`,
	Run: runUselessParens,
}

func runUselessParens(p *lint.Pass) error {
	src := p.File.Src
	for _, n := range p.Nodes() {
		par, ok := n.(*syntax.Paren)
		if !ok || par.X == nil || par.Close == nil {
			continue
		}
		inner := par.X
		// core is what is left once nested parentheses go too: each
		// pair inside this one is reported on its own (it fills a
		// Paren), and both fixes apply together, so this pair is useless
		// only if core may stand here without it.
		core := inner
		for q, ok := core.(*syntax.Paren); ok && q.X != nil; q, ok = core.(*syntax.Paren) {
			core = q.X
		}
		whole := false
		switch parent := p.Parent(par).(type) {
		case *syntax.Inherit:
			continue // inherit (x) needs them
		case *syntax.Attr:
			whole = parent.Value == syntax.Expr(par)
		case *syntax.Let:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.With:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Assert:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Lambda:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Interpolation, *syntax.Paren:
			whole = true
		case *syntax.File:
			whole = true
		case *syntax.Select:
			// (a).b: only an operand that is not itself a select with
			// a default and not a number (1.b lexes as a float).
			switch core.(type) {
			case *syntax.Int, *syntax.Float:
				continue
			}
			if s, ok := core.(*syntax.Select); ok && s.Or != nil {
				continue
			}
		}
		if !whole && !atomic(core) {
			continue
		}
		if id, ok := core.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
			continue
		}
		d := lint.Diagnostic{Pos: par.Pos(), End: par.End(), Message: "useless parentheses around `" + clipSource(p, inner) + "`"}
		before, after := byte(' '), byte(' ')
		if off := par.Pos().Offset(); off > 0 {
			before = src[off-1]
		}
		if off := par.End().Offset(); off < len(src) {
			after = src[off]
		}
		first, last := src[core.Pos().Offset()], src[core.End().Offset()-1]
		// A URI also takes in scheme characters before it (x+(a:b) is
		// the URI x+a:b without the parentheses) and URI characters
		// after it ((a:b)?c is a:b?c).
		uriGlues := syntax.FirstToken(core).Kind == syntax.URILIT && syntax.IsSchemeChar(before) ||
			syntax.LastToken(core).Kind == syntax.URILIT && syntax.IsURIChar(after)
		if !p.HasComments(par) && !joins(before, first) && !joins(last, after) && !uriGlues {
			d.Fixes = []lint.Fix{{Message: "remove the parentheses", Kind: lint.Safe, Edits: []lint.TextEdit{
				{Pos: par.Open.Pos(), End: inner.Pos()},
				{Pos: inner.End(), End: par.Close.End()},
			}}}
		}
		p.Report(d)
	}
	return nil
}
