package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

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
