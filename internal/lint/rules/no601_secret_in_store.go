package rules

import (
	"fmt"
	"regexp"
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
Encrypted files (.age, .sops, .gpg) are fine.

A literal counts as a secret when its name has a word such as password,
secret, token, passphrase, psk, or api key, private key or access key
(camelCase, snake_case and kebab-case are split into words, so 1password
and passwordFile do not count), or when it is an option that fleet knows
takes a secret. Values that read as something else are left alone:
colours (#fabd2f, fg=#cc241d), markup (<span …>), window-manager rule and
workspace names (special:magic, class:…), references to files or
variables, and anything inside a colour map, theme, style, icon map,
workspace or window-rule set, or an option's example or description.

Where the option has a …File variant that NixOS declares (the table in
secret_options.go, with the nixpkgs file of each), the message names it;
otherwise it says to read the secret from a file at run time. There is
no fix.`,
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
	x = syntax.Unparen(x)
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
			if pe, ok := syntax.Unparen(n.X).(*syntax.PathExpr); ok {
				if what, ok := secretLocation(pe); ok {
					p.ReportRangef(n, "interpolating the path %s copies the secret into the Nix store", what)
				}
			}
		case *syntax.Attr:
			if n.Path == nil || len(n.Path.Names) == 0 {
				continue
			}
			name, ok := staticName(n.Path.Names[len(n.Path.Names)-1])
			if !ok {
				continue
			}
			s, ok := unwrapDef(n.Value).(*syntax.String)
			if !ok {
				continue
			}
			path := attrPathOf(p, n)
			opt := fileOptionFor(path)
			if !(opt != nil && opt.Secret) && (!secretName(name) || notSecretContext(path)) {
				continue
			}
			v, err := syntax.StringValue(s)
			if err != nil || len(v) < 4 || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "$") || notSecretValue.MatchString(v) {
				continue
			}
			msg := fmt.Sprintf("literal secret in `%s` ends up in the world-readable Nix store; ", name)
			if opt != nil {
				msg += "use " + opt.File + " with agenix or sops-nix"
			} else {
				msg += "read it from a file at run time instead (agenix or sops-nix)"
			}
			p.ReportRangef(s, "%s", msg)
		}
	}
	return nil
}

// attrPathOf returns the names of the attribute path that binds n, from
// the outermost set: the paths of the bindings around it and its own,
// dynamic names as "*", without a leading "config".
func attrPathOf(p *lint.Pass, n *syntax.Attr) []string {
	var rev [][]string
	for x := syntax.Node(n); x != nil; x = p.Parent(x) {
		a, ok := x.(*syntax.Attr)
		if !ok || a.Path == nil {
			continue
		}
		var names []string
		for _, nm := range a.Path.Names {
			s, ok := staticName(nm)
			if !ok {
				s = "*"
			}
			names = append(names, s)
		}
		rev = append(rev, names)
	}
	var path []string
	for i := len(rev) - 1; i >= 0; i-- {
		path = append(path, rev[i]...)
	}
	if len(path) > 0 && path[0] == "config" {
		path = path[1:]
	}
	return path
}

// nameWords splits an attribute name into lower-case words at
// punctuation and at camelCase humps: "N8N_JWT_SECRET" is n8n jwt
// secret, "apiKey" is api key, "1password" one word.
func nameWords(name string) []string {
	var words []string
	start := -1
	flush := func(end int) {
		if start >= 0 {
			words = append(words, strings.ToLower(name[start:end]))
			start = -1
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		switch {
		case !alnum:
			flush(i)
		case start < 0:
			start = i
		case c >= 'A' && c <= 'Z' && name[i-1] >= 'a' && name[i-1] <= 'z':
			flush(i)
			start = i
		}
	}
	flush(len(name))
	return words
}

var (
	// secretWords are the words that make a name a secret's, and
	// secretPairs the pairs of words that do.
	secretWords = setOf("password passwd passphrase secret token apikey privatekey jwt psk")
	secretPairs = setOf("api-key private-key access-key secret-key auth-key")
	// notSecretLast are last words of names that only point at a secret
	// or describe it.
	notSecretLast = setOf("file files path paths command cmd length len hash hashed type dir name names env enable user username prompt policy manager helper format style field url endpoint store")
	// notSecretWords are words of the names around a definition that
	// mark a map of something else: colours, themes, icons, rules.
	notSecretWords = setOf("color colors colour colours palette theme themes scheme schemes style styles highlight highlights icon icons workspace workspaces windowrule windowrulev2 layerrule rule rules bind binds keybindings font fonts example examples description defaulttext")
	// notSecretValue matches values that read as something else than a
	// secret: colours, markup, window-manager rule and workspace names.
	notSecretValue = regexp.MustCompile(`^#[0-9a-fA-F]{3,8}$|#[0-9a-fA-F]{6}\b|^<|^(special|class|title|initialclass|initialtitle|workspace|name):|^(rgb|rgba|hsl|hsla)\(`)
)

// secretName reports whether an attribute name names a secret.
func secretName(name string) bool {
	ws := nameWords(name)
	if len(ws) == 0 || notSecretLast[ws[len(ws)-1]] || slicesContain(ws, "hashed") {
		return false
	}
	for i, w := range ws {
		if secretWords[w] || i > 0 && secretPairs[ws[i-1]+"-"+w] {
			return true
		}
	}
	return false
}

// notSecretContext reports whether the names of the path around a
// definition (all but its own) mark a map of something else.
func notSecretContext(path []string) bool {
	for _, n := range path[:max(len(path)-1, 0)] {
		for _, w := range nameWords(n) {
			if notSecretWords[w] {
				return true
			}
		}
	}
	return false
}

func slicesContain(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}
