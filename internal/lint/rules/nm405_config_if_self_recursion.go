package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ConfigIfSelfRecursion reports an option defined under an if on itself.
var ConfigIfSelfRecursion = &lint.Rule{
	ID:       "NM405",
	Name:     "config-if-self-recursion",
	Severity: diag.Warning,
	Doc: `report an option set under an if that reads the same option

services.foo = if config.services.foo.enable then { … } else { … }; makes
the value of services.foo depend on itself: Nix cannot know which branch
defines services.foo.enable without evaluating the if, which reads it.
This is infinite recursion; use mkIf on the definitions inside instead.
There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			e, ok := d.value.(*syntax.If)
			if !ok {
				continue
			}
			syntax.Inspect(e.Cond, func(n syntax.Node) bool {
				s, ok := n.(*syntax.Select)
				if !ok {
					return true
				}
				dp := dotted(s)
				rest, ok := strings.CutPrefix(dp, "config.")
				if !ok {
					return true
				}
				own := strings.Join(d.path, ".")
				if rest == own || strings.HasPrefix(rest, own+".") {
					p.ReportRangef(e, "`%s` is defined by an if that reads `%s`: infinite recursion; use mkIf", own, dp)
					return false
				}
				return false
			})
		}
		return nil
	},
}
