package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

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
