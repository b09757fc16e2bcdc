package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// SecretInStore reports secrets that end up in the world-readable store.
var SecretInStore = &lint.Rule{
	ID:       "NO601",
	Name:     "secret-in-store",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	URL:      "https://wiki.slightly.tech/books/nix/page/secrets-in-nixos",
	Doc: `report secrets that end up in the Nix store, readable by every user

The store is world-readable and copied to every machine and cache that
builds the system. A secret reaches it when it is written as a string
literal (password = "…", environment.API_TOKEN = "…"), read at evaluation
time (builtins.readFile ./secrets/x.key, readFile of
config.age.secrets.x.path), or interpolated as a path ("${./id_ed25519}").
Encrypted files (.age, .sops, .gpg) are fine. Use the option's …File
variant with agenix or sops-nix. There is no fix.`,
	Run: runSecretInStore,
}

func pathText(pe *syntax.PathExpr) string {
	var b strings.Builder
	for _, pt := range pe.Parts {
		if t, ok := pt.(*syntax.Text); ok {
			b.WriteString(t.Tok.Text)
		} else {
			b.WriteString("${…}")
		}
	}
	return b.String()
}

// secretLocation reports whether x names a secret file at evaluation.
func secretLocation(x syntax.Expr) (string, bool) {
	x = unparen(x)
	switch x := x.(type) {
	case *syntax.PathExpr:
		s := pathText(x)
		return s, secretPathRx.MatchString(s) && !encryptedRx.MatchString(s)
	case *syntax.String:
		if v, err := syntax.StringValue(x); err == nil {
			return v, secretPathRx.MatchString(v) && !encryptedRx.MatchString(v)
		}
	case *syntax.Select:
		d := dotted(x)
		if (strings.HasPrefix(d, "config.age.secrets.") || strings.HasPrefix(d, "config.sops.secrets.")) && strings.HasSuffix(d, ".path") {
			return d, true
		}
	}
	return "", false
}

func runSecretInStore(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		switch n := n.(type) {
		case *syntax.Apply:
			if builtinRef(r, n.Fn, "readFile") {
				if what, ok := secretLocation(n.Arg); ok {
					p.ReportRangef(n, "readFile of %s copies the secret into the Nix store at evaluation", what)
				}
			}
		case *syntax.Interpolation:
			if pe, ok := unparen(n.X).(*syntax.PathExpr); ok {
				if what, ok := secretLocation(pe); ok {
					p.ReportRangef(n, "interpolating the path %s copies the secret into the Nix store", what)
				}
			}
		case *syntax.Attr:
			if n.Path == nil || len(n.Path.Names) == 0 {
				continue
			}
			name, ok := staticName(n.Path.Names[len(n.Path.Names)-1])
			if !ok || !secretNameRx.MatchString(name) || notSecretRx.MatchString(name) {
				continue
			}
			s, ok := unwrapDef(n.Value).(*syntax.String)
			if !ok {
				continue
			}
			v, err := syntax.StringValue(s)
			if err != nil || len(v) < 4 || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "$") {
				continue
			}
			p.ReportRangef(s, "literal secret in `%s` ends up in the world-readable Nix store; use the %sFile option with agenix or sops-nix", name, name)
		}
	}
	return nil
}
