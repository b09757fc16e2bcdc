package syntax

import (
	"errors"
	"strings"
)

// Quote returns s as a double-quoted Nix string literal whose value is
// exactly s: it escapes `"`, `\`, the `${` that would start an
// interpolation, and writes newline, carriage return and tab as \n, \r
// and \t. Every other byte is written as it is.
func Quote(s string) string { return quote(s, false) }

func quote(s string, allDollars bool) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if allDollars || i+1 < len(s) && s[i+1] == '{' {
				b.WriteString(`\$`)
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteIndented returns s as an indented string literal (” ... ”)
// indented by indent spaces after each newline, and true; or "" and false
// when s cannot be written that way without changing its value (a line
// starting with spaces or tabs that the indentation rule would strip or
// keep differently, or a carriage return). Callers fall back to Quote.
func QuoteIndented(s string, indent int) (string, bool) {
	if strings.ContainsRune(s, '\r') {
		return "", false
	}
	lines := strings.Split(s, "\n")
	for _, ln := range lines {
		if strings.HasPrefix(ln, " ") || strings.HasPrefix(ln, "\t") {
			return "", false
		}
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("''\n")
	for i, ln := range lines {
		last := i == len(lines)-1
		if ln != "" {
			b.WriteString(pad)
			ln = strings.ReplaceAll(ln, "''", "'''")
			ln = strings.ReplaceAll(ln, "${", "''${")
			b.WriteString(ln)
		}
		if !last {
			b.WriteByte('\n')
		}
	}
	if strings.HasSuffix(s, "\n") || s == "" {
		// The final line of spaces is dropped; the newline before it stays.
		b.WriteString(pad)
	}
	b.WriteString("''")
	out := b.String()
	if v, err := Unquote(out); err != nil || v != s {
		return "", false
	}
	return out, true
}

// Unquote returns the value of the Nix string literal lit, either form,
// as Nix computes it: escapes decoded, CR and CRLF in "..." read as LF,
// indentation of ”...” stripped. It fails when lit is not exactly one
// string literal or when it contains an interpolation.
func Unquote(lit string) (string, error) {
	f, errs := Parse("", []byte(lit))
	if len(errs) > 0 {
		return "", errors.New("syntax: invalid string literal: " + errs[0].Summary)
	}
	s, ok := f.Expr.(*String)
	if !ok || len(f.EOF.Leading) > 0 || len(firstToken(s).Leading) > 0 {
		return "", errors.New("syntax: not a single string literal")
	}
	for _, p := range s.Parts {
		if _, ok := p.(*Interpolation); ok {
			return "", errors.New("syntax: string literal has an interpolation")
		}
	}
	return StringValue(s)
}

// StringValue returns the value of a string literal without
// interpolations, computed as Nix does.
func StringValue(s *String) (string, error) {
	l := &lowerer{errorf: func(Node, string, ...any) {}}
	x := l.lowerString(s)
	switch x := x.(type) {
	case *nString:
		return x.s, nil
	case *nConcat:
		var b strings.Builder
		for _, p := range x.parts {
			ps, ok := p.(*nString)
			if !ok {
				return "", errors.New("syntax: string literal has an interpolation")
			}
			b.WriteString(ps.s)
		}
		return b.String(), nil
	}
	return "", errors.New("syntax: not a string literal")
}

// StaticNames returns the names of an attribute path, or false when one
// of them is computed (an interpolation, a dynamic ${…} name) or the path
// is empty.
func StaticNames(p *AttrPath) ([]string, bool) {
	out := make([]string, 0, len(p.Names))
	for _, n := range p.Names {
		switch n := n.(type) {
		case *Ident:
			out = append(out, n.Tok.Text)
		case *String:
			s, err := StringValue(n)
			if err != nil {
				return nil, false
			}
			out = append(out, s)
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}
