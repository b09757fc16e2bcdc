package rules

import (
	"regexp"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var nixEnvRx = regexp.MustCompile(`nix-env\s+(-[a-zA-Z]*[iu][a-zA-Z]*\b|--install|--upgrade)|nix\s+profile\s+(install|add)`)

// ImperativeNixEnv reports nix-env -i in embedded shell code.
var ImperativeNixEnv = &lint.Rule{
	ID:       "NO605",
	Name:     "imperative-nix-env",
	Severity: diag.Warning,
	URL:      "https://stop-using-nix-env.privatevoid.net/",
	Doc: `report nix-env -i, nix-env -u and nix profile install in embedded shell code

Installing imperatively from an activation script, a service's ExecStart or
a writeShellScript undoes what the configuration declares: the result is
not in the system closure, not rolled back with it, and resolved against
whatever channel is current. Add the package to environment.systemPackages
or the service's path. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			s, ok := n.(*syntax.String)
			if !ok {
				continue
			}
			for _, pt := range s.Parts {
				if t, ok := pt.(*syntax.Text); ok {
					if loc := nixEnvRx.FindStringIndex(t.Tok.Text); loc != nil {
						pos := t.Tok.Start + syntax.Pos(loc[0])
						p.Reportf(pos, pos+syntax.Pos(loc[1]-loc[0]), "`%s` installs imperatively; declare the package instead", t.Tok.Text[loc[0]:loc[1]])
					}
				}
			}
		}
		return nil
	},
}
