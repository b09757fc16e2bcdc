package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ParseError reports what Nix's parser rejects.
var ParseError = &lint.Rule{
	ID:       "NL001",
	Name:     "parse-error",
	Severity: diag.Error,
	Doc: `report source that Nix cannot parse

Every syntax error the parser finds is reported, not just the first: the
parser recovers and goes on. Duplicate attributes (NL002), dynamic names
where Nix forbids them (NL003), bad numbers (NL109) and undefined
variables (NS307) have rules of their own. Where a ";" is missing after a binding's value, a suggested fix
inserts it.`,
	Run: runParseError,
}

// parseErrorKind sorts a parser error into the rule that reports it.
// Undefined variables, which Nix reports when it parses, are NS307's: that
// rule sees them through the richer resolver and offers corrections.
func parseErrorKind(e diag.Diagnostic) string {
	msg := e.Summary
	switch {
	case e.Code == syntax.UndefinedVariable:
		return "NS307"
	case strings.HasPrefix(msg, "duplicate formal") || strings.Contains(msg, "already defined"):
		return "NL002"
	case strings.HasPrefix(msg, "dynamic attributes not allowed"):
		return "NL003"
	case strings.HasPrefix(msg, "invalid integer") || strings.HasPrefix(msg, "invalid float"):
		return "NL109"
	}
	return "NL001"
}

func runParseError(p *lint.Pass) error {
	for _, e := range p.ParseErrors {
		if parseErrorKind(e) != "NL001" {
			continue
		}
		pos := syntax.Pos(e.Range.Start.Offset + 1)
		d := lint.Diagnostic{Pos: pos, End: pos, Message: e.Summary}
		if e.Range.End.Line > 0 {
			d.End = syntax.Pos(e.Range.End.Offset + 1)
		}
		if strings.HasPrefix(e.Summary, "expected `;`") {
			// Insert right after the last non-space byte before the
			// token that should have been a ;.
			off := e.Range.Start.Offset
			for off > 0 && strings.IndexByte(" \t\r\n", p.File.Src[off-1]) >= 0 {
				off--
			}
			at := syntax.Pos(off + 1)
			d.Fixes = []lint.Fix{{Message: "insert the missing `;`", Kind: lint.Suggested,
				Edits: []lint.TextEdit{{Pos: at, End: at, NewText: ";"}}}}
		}
		p.Report(d)
	}
	return nil
}

func reportParseErrors(p *lint.Pass, kind string) {
	for _, e := range p.ParseErrors {
		if parseErrorKind(e) == kind {
			pos := syntax.Pos(e.Range.Start.Offset + 1)
			end := pos
			if e.Range.End.Line > 0 {
				end = syntax.Pos(e.Range.End.Offset + 1)
			}
			p.Reportf(pos, end, "%s", e.Summary)
		}
	}
}

// DuplicateAttr reports attributes and formals defined twice.
var DuplicateAttr = &lint.Rule{
	ID:       "NL002",
	Name:     "duplicate-attr",
	Severity: diag.Error,
	Doc: `report attributes, inherits and formals defined twice

Nix refuses { a = 1; a = 2; }, also when the two come from an attribute
path and a nested set ({ a.b = 1; a = { b = 2; }; }) or an inherit, and a
function whose formals repeat a name or repeat the name after @. There is
no fix: which definition is meant is the author's call.`,
	Run: func(p *lint.Pass) error { reportParseErrors(p, "NL002"); return nil },
}

// DynamicAttrForbidden reports ${} names in let and inherit.
var DynamicAttrForbidden = &lint.Rule{
	ID:       "NL003",
	Name:     "dynamic-attr-forbidden",
	Severity: diag.Error,
	Doc: `report interpolated names in let bindings and inherit

let ${x} = 1; in … and inherit ${x}; are syntax errors: names bound by let
and inherit must be known before evaluation. Use an attribute set and
builtins.getAttr or listToAttrs instead.`,
	Run: func(p *lint.Pass) error { reportParseErrors(p, "NL003"); return nil },
}

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
