package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

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
