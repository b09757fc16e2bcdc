package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// SurprisingJuxtaposition reports code that lexes differently from how it
// reads.
var SurprisingJuxtaposition = &lint.Rule{
	ID:       "NL106",
	Name:     "surprising-juxtaposition",
	Severity: diag.Warning,
	Doc: `report code that lexes into an application it does not look like

a /b is a applied to the absolute path /b, not a division; foo.0 is foo
applied to the float .0, not an attribute; a<b>c applies a to the search
path <b> and c; f -1 subtracts 1 from f rather than passing -1. Each is
reported with a suggested fix (spaces around /, quoting the attribute,
spaces around <, parentheses around -1) that changes the meaning to the
likely intent, so none is applied automatically. Numbers such as 1e5 are
NL109's.`,
	Run: runJuxtaposition,
}

func runJuxtaposition(p *lint.Pass) error {
	for _, n := range p.Nodes() {
		switch n := n.(type) {
		case *syntax.Apply:
			switch arg := n.Arg.(type) {
			case *syntax.PathExpr:
				if isDivisionLike(p, arg) {
					s := p.Source(arg)
					p.Report(lint.Diagnostic{Pos: n.Pos(), End: n.End(),
						Message: "`" + p.Source(n) + "` applies " + p.Source(n.Fn) + " to the path " + s + ", it does not divide",
						Fixes: []lint.Fix{{Message: "divide, with spaces around /", Kind: lint.Suggested,
							Edits: []lint.TextEdit{replace(p, arg, "/ "+s[1:])}}}})
				}
			case *syntax.Float:
				if n.Fn.End() == arg.Pos() && strings.HasPrefix(arg.Tok.Text, ".") {
					if _, isNum := n.Fn.(*syntax.Int); isNum {
						continue // NL109
					}
					p.Report(lint.Diagnostic{Pos: n.Pos(), End: n.End(),
						Message: "`" + p.Source(n) + "` applies " + p.Source(n.Fn) + " to the number " + arg.Tok.Text + ", it does not select an attribute",
						Fixes: []lint.Fix{{Message: "select the attribute with a quoted name", Kind: lint.Suggested,
							Edits: []lint.TextEdit{replace(p, arg, `."`+arg.Tok.Text[1:]+`"`)}}}})
				}
			case *syntax.SearchPath:
				if n.Fn.End() == arg.Pos() {
					inner := strings.TrimSuffix(strings.TrimPrefix(arg.Tok.Text, "<"), ">")
					p.Report(lint.Diagnostic{Pos: n.Pos(), End: n.End(),
						Message: "`" + p.Source(n) + "` applies " + p.Source(n.Fn) + " to the search path " + arg.Tok.Text + ", it does not compare",
						Fixes: []lint.Fix{{Message: "compare, with spaces around < and >", Kind: lint.Suggested,
							Edits: []lint.TextEdit{replace(p, arg, " < "+inner+" > ")}}}})
				}
			}
		case *syntax.Binary:
			if n.Op.Kind != syntax.MINUS || len(n.Op.Leading) == 0 || n.Op.End() != n.Y.Pos() {
				continue
			}
			switch n.Y.(type) {
			case *syntax.Int, *syntax.Float:
			default:
				continue
			}
			switch syntax.Unparen(n.X).(type) {
			case *syntax.Ident, *syntax.Select, *syntax.Apply:
			default:
				continue
			}
			p.Report(lint.Diagnostic{Pos: n.Pos(), End: n.End(),
				Message: "`" + p.Source(n) + "` subtracts " + p.Source(n.Y) + "; to pass a negative number, parenthesise it",
				Fixes: []lint.Fix{{Message: "pass the negative number in parentheses", Kind: lint.Suggested,
					Edits: []lint.TextEdit{{Pos: n.Op.Pos(), End: n.Y.End(), NewText: "(-" + p.Source(n.Y) + ")"}}}}})
		}
	}
	return nil
}
