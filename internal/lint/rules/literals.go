package rules

import (
	"regexp"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var lambdaLikeURI = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_'+.-]*:[A-Za-z_][A-Za-z0-9_'-]*$`)

// URLLiteral reports unquoted URLs.
var URLLiteral = &lint.Rule{
	ID:       "NL101",
	Name:     "url-literal",
	Severity: diag.Warning,
	URL:      "https://github.com/NixOS/rfcs/pull/45",
	Doc: `report unquoted URLs such as https://example.org

Nix reads an unquoted URI as a string, a feature RFC 45 deprecated and Nix
can be told to reject (lint-url-literals). The fix quotes it; the value is
the same string, so nix-instantiate --parse prints the same expression.
URIs shaped like x:x are reported by NL102 instead.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			u, ok := n.(*syntax.URI)
			if !ok || lambdaLikeURI.MatchString(u.Tok.Text) {
				continue
			}
			p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(),
				Message: "unquoted URL " + u.Tok.Text + " is deprecated",
				Fixes: []lint.Fix{{Message: "quote the URL", Kind: lint.Safe,
					Edits: []lint.TextEdit{replace(u, syntax.Quote(u.Tok.Text))}}}})
		}
		return nil
	},
}

// URILooksLikeLambda reports URIs such as x:x that were meant as lambdas.
var URILooksLikeLambda = &lint.Rule{
	ID:       "NL102",
	Name:     "uri-looks-like-lambda",
	Severity: diag.Warning,
	Doc: `report x:y written without a space, which Nix reads as a string

Without a space after the colon, x:x is not the identity function but the
URI string "x:x": a scheme, a colon and more characters lex as one URI
token. The suggested fix adds the space; it changes the meaning, which is
the point, so it is never applied automatically.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			u, ok := n.(*syntax.URI)
			if !ok || !lambdaLikeURI.MatchString(u.Tok.Text) {
				continue
			}
			param, body, _ := strings.Cut(u.Tok.Text, ":")
			p.Report(lint.Diagnostic{Pos: u.Pos(), End: u.End(),
				Message: "`" + u.Tok.Text + "` is the string \"" + u.Tok.Text + "\", not a function",
				Fixes: []lint.Fix{{Message: "write a function with a space after the colon", Kind: lint.Suggested,
					Edits: []lint.TextEdit{replace(u, param+": "+body)}}}})
		}
		return nil
	},
}

// OrAsIdentifier reports or used as a variable.
var OrAsIdentifier = &lint.Rule{
	ID:       "NL104",
	Name:     "or-as-identifier",
	Severity: diag.Warning,
	Doc: `report the keyword or used as a variable or argument

Nix lets or be a name where a keyword cannot be, so [ a or b ] is a list of
three elements and f a or b applies f to a, or and b; later Nix versions
warn about it. If a default was meant, write it after a select (a.b or c);
if a logical or was meant, write ||. There is no automatic fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			switch n := n.(type) {
			case *syntax.Apply:
				if id, ok := n.Arg.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
					p.ReportRangef(id, "`or` here is a variable passed as an argument; write `||` for a logical or, or `x.a or d` for a default")
				}
			case *syntax.List:
				for _, e := range n.Elems {
					if id, ok := e.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
						p.ReportRangef(id, "`or` here is a list element; write `||` for a logical or, or `x.a or d` for a default")
					}
				}
			case *syntax.Attr:
				if n.Path != nil && len(n.Path.Names) > 0 {
					if id, ok := n.Path.Names[0].(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
						p.ReportRangef(id, "`or` used as an attribute name; quote it as \"or\"")
					}
				}
			}
		}
		return nil
	},
}

// UnknownEscape reports string escapes that silently drop the backslash.
var UnknownEscape = &lint.Rule{
	ID:       "NL105",
	Name:     "unknown-escape",
	Severity: diag.Warning,
	URL:      "https://github.com/NixOS/nix/issues/3063",
	Doc: `report escapes such as "\e" that Nix silently reads as the bare character

Nix knows \n, \r and \t; any other backslash escape in "..." stands for the
character itself, so "\e[1m" has no escape character and "\1" is "1". The
same holds for ''\q in indented strings. Two suggested fixes are offered:
double the backslash to keep it, or drop it to say what Nix reads.`,
	Run: runUnknownEscape,
}

func runUnknownEscape(p *lint.Pass) error {
	for _, n := range p.Nodes() {
		t, ok := n.(*syntax.Text)
		if !ok {
			continue
		}
		text := t.Tok.Text
		switch t.Tok.Kind {
		case syntax.STRTEXT:
			for i := 0; i+1 < len(text); i++ {
				if text[i] != '\\' {
					continue
				}
				c := text[i+1]
				if strings.IndexByte("nrt\\\"$\n", c) < 0 {
					reportEscape(p, t.Tok.Start+syntax.Pos(i), `\`, c)
				}
				i++
			}
		case syntax.INDESCAPE:
			if len(text) == 4 && text[2] == '\\' && strings.IndexByte("nrt", text[3]) < 0 {
				reportEscape(p, t.Tok.Start, `''\`, text[3])
			}
		}
	}
	return nil
}

func reportEscape(p *lint.Pass, pos syntax.Pos, esc string, c byte) {
	end := pos + syntax.Pos(len(esc)+1)
	keep := `\\` + string(c)
	if esc != `\` {
		keep = `\` + string(c)
	}
	p.Report(lint.Diagnostic{Pos: pos, End: end,
		Message: "unknown escape `" + esc + string(c) + "` is just `" + string(c) + "`",
		Fixes: []lint.Fix{
			{Message: "keep the backslash", Kind: lint.Suggested, Edits: []lint.TextEdit{{Pos: pos, End: end, NewText: keep}}},
			{Message: "drop the backslash", Kind: lint.Suggested, Edits: []lint.TextEdit{{Pos: pos, End: end, NewText: string(c)}}},
		}})
}

// ShortPathLiteral reports relative paths written without ./.
var ShortPathLiteral = &lint.Rule{
	ID:       "NL107",
	Name:     "short-path-literal",
	Severity: diag.Warning,
	Doc: `report relative paths written without ./, such as foo/bar

foo/bar is the path ./foo/bar, but it reads like a division, and Nix can
be told to reject it (lint-short-path-literals). The fix prefixes ./; the
path is the same, so nix-instantiate --parse prints the same expression.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			pe, ok := n.(*syntax.PathExpr)
			if !ok || len(pe.Parts) == 0 {
				continue
			}
			t, ok := pe.Parts[0].(*syntax.Text)
			if !ok || t.Tok.Kind != syntax.PATH {
				continue
			}
			s := t.Tok.Text
			if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
				continue
			}
			p.Report(lint.Diagnostic{Pos: pe.Pos(), End: pe.End(),
				Message: "path `" + p.Source(pe) + "` has no ./ prefix",
				Fixes: []lint.Fix{{Message: "prefix the path with ./", Kind: lint.Safe,
					Edits: []lint.TextEdit{{Pos: t.Pos(), End: t.Pos(), NewText: "./"}}}}})
		}
		return nil
	},
}

// AbsolutePath reports absolute and home path literals.
var AbsolutePath = &lint.Rule{
	ID:       "NL108",
	Name:     "absolute-or-home-path",
	Severity: diag.Warning,
	Doc: `report path literals such as /etc/foo and ~/x

An absolute path literal reads the machine that evaluates, not the one
that runs the system, and is copied into the store when used as a source;
~/x depends on $HOME and fails in pure evaluation. Use a string for a
run-time location, or a relative path for a file of the repository. There
is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			pe, ok := n.(*syntax.PathExpr)
			if !ok || len(pe.Parts) == 0 {
				continue
			}
			t, ok := pe.Parts[0].(*syntax.Text)
			if !ok {
				continue
			}
			switch {
			case t.Tok.Kind == syntax.HPATH:
				p.ReportRangef(pe, "home path `%s` depends on $HOME and fails in pure evaluation", p.Source(pe))
			case t.Tok.Kind == syntax.PATH && strings.HasPrefix(t.Tok.Text, "/") && t.Tok.Text != "/.":
				if _, isApp := p.Parent(pe).(*syntax.Apply); isApp && isDivisionLike(p, pe) {
					continue // NL106 says more
				}
				p.ReportRangef(pe, "absolute path `%s` reads the evaluating machine; use a string for a run-time location", p.Source(pe))
			}
		}
		return nil
	},
}

// DeprecatedToPath reports builtins.toPath.
var DeprecatedToPath = &lint.Rule{
	ID:       "NL110",
	Name:     "deprecated-to-path",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report builtins.toPath, which is deprecated

builtins.toPath returns a string, not a path, despite its name. Write
/. + s for an absolute path or ./. + s for one relative to the file; the
suggested fix uses /. + s, which is equivalent only for absolute s, so it
is never applied automatically.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if ok && builtinRef(r, a.Fn, "toPath") {
				p.Report(lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "builtins.toPath is deprecated",
					Fixes: []lint.Fix{{Message: "write /. + the string", Kind: lint.Suggested,
						Edits: []lint.TextEdit{replace(a, "(/. + "+p.Source(a.Arg)+")")}}}})
			}
		}
		return nil
	},
}
