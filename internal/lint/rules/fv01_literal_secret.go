package rules

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// LiteralSecret reports secrets given as literal strings in host values.
var LiteralSecret = &lint.Rule{
	ID:       "FV01",
	Name:     "literal-secret",
	Severity: diag.Error,
	Doc: `report a password, token or key given as a literal string in a host's value

The schema already refuses literals in the fields it knows hold secrets;
this catches them where it cannot look: free-form nixos values and raw
#Nix. A literal ends up in the world-readable Nix store. Use a #SecretRef
and the option's …File variant. fleetgen vet reports the same values as
errors (LiteralSecrets is the one detection both use).`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			LiteralSecrets(nil, h.Value, func(path []string) {
				p.Reportf(h, path, "%s: %s is a literal secret; use a #SecretRef", h.Name, strings.Join(path, "."))
			})
		}
		return nil
	},
}

// LiteralSecrets calls report with the path of every literal secret in v,
// the value at path: a string that is not a path to a file, under a key
// that names a secret (password, passwords, secretKey, access-tokens,
// AWS_SECRET_ACCESS_KEY, psk ...; see SecretKey), or under a key that
// holds secrets by name (tokens: github: "…"). Lists and the markers
// {$force: v} and {$default: v} are looked through, so the key of their
// values is the field they sit under; {$nix: src} is a literal when src is
// a string literal. Paths are reported in the order of a sorted walk.
func LiteralSecrets(path []string, v any, report func(path []string)) {
	walkValue(path, v, func(p []string, leaf any) {
		if len(p) > 0 && p[len(p)-1] == "$nix" {
			src, _ := leaf.(string)
			s, ok := rawString(src)
			if !ok {
				return
			}
			leaf = s
		}
		if secretUnder(p) && isLiteralSecret(leaf) {
			report(p)
		}
	})
}

// secretUnder reports whether a value at path p is held as a secret: the
// field it sits under (lists and wrapping markers looked through) names a
// secret, or that field sits in a struct whose own name says it holds
// secrets by name (tokens, passwords, credentials).
func secretUnder(p []string) bool {
	var keys []string
	for _, k := range p {
		if k == "$force" || k == "$default" || k == "$nix" || isIndex(k) {
			continue
		}
		if strings.HasPrefix(k, "$") {
			return false // $secret, $pkg: a reference, not a literal
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return false
	}
	if SecretKey(keys[len(keys)-1]) {
		return true
	}
	if len(keys) < 2 {
		return false
	}
	w := keyWords(keys[len(keys)-2])
	return len(w) > 0 && strings.HasSuffix(w[len(w)-1], "s") && SecretKey(keys[len(keys)-2])
}

// isLiteralSecret reports whether the leaf v is a literal that reads as a
// secret: a string of four characters or more that is not the path of a
// file (/run/secrets/x), or raw Nix that is such a string literal.
func isLiteralSecret(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	return len(s) >= 4 && !filePathRx.MatchString(s)
}

// filePathRx matches an absolute path of two components or more, as
// options next to secret ones take (…File, a socket, a key file): a
// secret that only starts with a slash is still a secret.
var filePathRx = regexp.MustCompile(`^/[A-Za-z0-9._+@:%~-]+(/[A-Za-z0-9._+@:%~-]+)+/?$`)

// SecretKey reports whether an option or attribute name names a secret: its
// last word (names split at '_', '-', '.' and case changes; plural and
// case ignored) is or ends in password, passwd, passphrase, secret, token,
// jwt, apikey or psk, or the name ends in a key of the secret kind (secret,
// private, api, access, encryption, signing, master or shared key). A name
// ending in File, Path, Dir, Command and the like names something else.
func SecretKey(name string) bool {
	w := keyWords(name)
	if len(w) == 0 {
		return false
	}
	last := singular(w[len(w)-1])
	for _, s := range []string{"password", "passwd", "passphrase", "secret", "token", "jwt", "apikey"} {
		if strings.HasSuffix(last, s) {
			return true
		}
	}
	if last == "psk" {
		return true
	}
	if last == "key" && len(w) >= 2 {
		switch w[len(w)-2] {
		case "secret", "private", "api", "access", "encryption", "signing", "master", "shared":
			return true
		}
	}
	return false
}

// keyWords splits a name into lower-case words: at characters other than
// letters and digits, and where case changes (apiKey, JWTSecret).
func keyWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// singular drops a plural s: tokens, passwords, secrets.
func singular(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
		return w[:len(w)-1]
	}
	return w
}

func isIndex(k string) bool {
	_, err := strconv.Atoi(k)
	return err == nil && k != ""
}

// rawString returns the value of raw Nix that is a plain string literal.
func rawString(src string) (string, bool) {
	f, errs := syntax.ParseIn("raw", []byte(src))
	if len(errs) > 0 {
		return "", false
	}
	e := f.Expr
	for {
		p, ok := e.(*syntax.Paren)
		if !ok {
			break
		}
		e = p.X
	}
	s, ok := e.(*syntax.String)
	if !ok {
		return "", false
	}
	v, err := syntax.StringValue(s)
	return v, err == nil
}
