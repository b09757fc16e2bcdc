package rules

import (
	"strings"
	"testing"
)

// TestLiteralSecrets checks the spellings a literal secret takes in
// free-form NixOS values, and values that only look like one.
func TestLiteralSecrets(t *testing.T) {
	secret := "hunter22hunter"
	for _, c := range []struct {
		path []string
		v    any
		want []string // reported paths, joined with .
	}{
		{[]string{"services", "a", "password"}, secret, []string{"services.a.password"}},
		{[]string{"services", "a", "password"}, map[string]any{"$force": secret}, []string{"services.a.password.$force"}},
		{[]string{"services", "a", "password"}, map[string]any{"$default": secret}, []string{"services.a.password.$default"}},
		{[]string{"services", "a", "password"}, map[string]any{"$force": map[string]any{"$nix": `"` + secret + `"`}}, []string{"services.a.password.$force.$nix"}},
		{[]string{"services", "a", "password"}, map[string]any{"$nix": `("` + secret + `")`}, []string{"services.a.password.$nix"}},
		{[]string{"services", "a", "password"}, map[string]any{"$nix": `''` + secret + `''`}, []string{"services.a.password.$nix"}},
		{[]string{"services", "a", "passwords"}, []any{secret, "x"}, []string{"services.a.passwords.0"}},
		{[]string{"services", "a", "tokens"}, map[string]any{"github": secret}, []string{"services.a.tokens.github"}},
		{[]string{"services", "a", "secretKey"}, secret, []string{"services.a.secretKey"}},
		{[]string{"services", "a", "secret_key"}, secret, []string{"services.a.secret_key"}},
		{[]string{"services", "a", "adminpass", "rootPassword"}, secret, []string{"services.a.adminpass.rootPassword"}},
		{[]string{"services", "a", "JWTSecret"}, secret, []string{"services.a.JWTSecret"}},
		{[]string{"services", "a", "clientSecrets"}, secret, []string{"services.a.clientSecrets"}},
		{[]string{"nix", "settings", "access-tokens"}, "github.com=ghp_abcdefabcdef", []string{"nix.settings.access-tokens"}},
		{[]string{"environment", "variables", "AWS_SECRET_ACCESS_KEY"}, secret, []string{"environment.variables.AWS_SECRET_ACCESS_KEY"}},
		{[]string{"networking", "wireless", "networks", "home", "psk"}, secret, []string{"networking.wireless.networks.home.psk"}},
		{[]string{"services", "a", "password"}, "/" + secret, []string{"services.a.password"}},
		{[]string{"services", "a", "apiKey"}, secret, []string{"services.a.apiKey"}},
		// Not secrets.
		{[]string{"services", "a", "passwordFile"}, "/run/agenix/a", nil},
		{[]string{"services", "a", "password"}, "/run/agenix/a", nil},
		{[]string{"services", "a", "password"}, map[string]any{"$secret": "a"}, nil},
		{[]string{"services", "a", "password"}, map[string]any{"$nix": "config.age.secrets.a.path"}, nil},
		{[]string{"services", "a", "password"}, map[string]any{"$nix": `"${x}"`}, nil},
		{[]string{"services", "a", "tokenLifetime"}, "24h0m", nil},
		{[]string{"services", "a", "publicKey"}, secret, nil},
		{[]string{"environment", "variables", "AWS_ACCESS_KEY_ID"}, secret, nil},
		{[]string{"services", "a", "password"}, "abc", nil},
		{[]string{"services", "a", "password"}, true, nil},
		{[]string{"age", "secrets", "x", "owner"}, "nobody", nil},
		{[]string{"services", "a", "passwords"}, map[string]any{"file": "/run/x/y"}, nil},
		{[]string{"services", "a", "keys"}, map[string]any{"main": secret}, nil},
	} {
		var got []string
		LiteralSecrets(c.path, c.v, func(p []string) { got = append(got, strings.Join(p, ".")) })
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("LiteralSecrets(%v, %#v) = %q, want %q", c.path, c.v, got, c.want)
		}
	}
}
