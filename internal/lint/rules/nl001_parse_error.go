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
