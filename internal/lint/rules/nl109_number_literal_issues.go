package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// NumberLiteral reports numbers Nix rejects or reads unexpectedly.
var NumberLiteral = &lint.Rule{
	ID:       "NL109",
	Name:     "number-literal-issues",
	Severity: diag.Warning,
	Doc: `report numbers that overflow or do not lex as one number

An integer that does not fit in 64 bits and an out-of-range float are
errors. Two shapes parse but do not mean one number: 00.5 is the integer 0
applied to the float 0.5, and 1.5e or 2e10 are a number applied to the
variable e or e10 (Nix floats need digits after e and a dot before it).
Those are warnings; there is no fix.`,
	Run: runNumberLiteral,
}

func runNumberLiteral(p *lint.Pass) error {
	for _, e := range p.ParseErrors {
		if parseErrorKind(e) == "NL109" {
			pos := syntax.Pos(e.Range.Start.Offset + 1)
			p.Report(lint.Diagnostic{Pos: pos, End: syntax.Pos(e.Range.End.Offset + 1), Message: e.Summary}.WithSeverity(diag.Error))
		}
	}
	for _, n := range p.Nodes() {
		a, ok := n.(*syntax.Apply)
		if !ok || a.Fn.End() != a.Arg.Pos() {
			continue
		}
		switch fn := a.Fn.(type) {
		case *syntax.Int, *syntax.Float:
			switch arg := a.Arg.(type) {
			case *syntax.Float:
				p.ReportRangef(a, "`%s` is the number %s applied to %s, not one number", p.Source(a), p.Source(fn), p.Source(arg))
			case *syntax.Ident:
				if t := arg.Tok.Text; t[0] == 'e' || t[0] == 'E' {
					p.ReportRangef(a, "`%s` is the number %s applied to the variable %s, not one number", p.Source(a), p.Source(fn), t)
				}
			}
		}
	}
	return nil
}
