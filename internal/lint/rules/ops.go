package rules

import (
	"regexp"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var (
	secretPathRx = regexp.MustCompile(`(?i)(\.key$|\.pem$|\.p12$|\.pfx$|(^|/)id_(rsa|ed25519|ecdsa)$|(^|/)secrets?/|^/run/secrets|^/run/agenix|\.env$)`)
	encryptedRx  = regexp.MustCompile(`(?i)\.(age|sops|gpg|asc|enc)$`)
	secretNameRx = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|private_?key|jwt)`)
	notSecretRx  = regexp.MustCompile(`(?i)(file|path|hashed|command|cmd|user(name)?|length|enable|dir|name|type|env)$`)
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

// hardening are the serviceConfig keys of the baseline.
var hardening = []string{"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "CapabilityBoundingSet", "SystemCallFilter"}

// UnhardenedService reports systemd services running as root without the
// hardening baseline.
var UnhardenedService = &lint.Rule{
	ID:       "NO602",
	Name:     "unhardened-service",
	Severity: diag.Warning,
	URL:      "https://github.com/NixOS/nixpkgs/issues/377827",
	Doc: `report systemd services that run as root or without any hardening

A systemd.services.<name> with a serviceConfig but no DynamicUser or User
(or User = "root") runs as root; one that sets none of NoNewPrivileges,
ProtectSystem, ProtectHome, PrivateTmp, CapabilityBoundingSet and
SystemCallFilter has no sandbox. The suggested fix inserts a baseline with
mkDefault; it is never applied automatically, since it can break a service
that writes to /home or needs privileges.`,
	Run: func(p *lint.Pass) error {
		type svc struct {
			sc   *syntax.Attr
			keys map[string]syntax.Expr
		}
		svcs := map[string]*svc{}
		var order []string
		for _, d := range configDefs(p.File) {
			if len(d.path) < 4 || d.path[0] != "systemd" || d.path[1] != "services" || d.path[3] != "serviceConfig" {
				continue
			}
			name := d.path[2]
			s := svcs[name]
			if s == nil {
				s = &svc{keys: map[string]syntax.Expr{}}
				svcs[name] = s
				order = append(order, name)
			}
			if len(d.path) == 4 {
				if s.sc == nil {
					s.sc = d.attr
				}
			} else {
				s.keys[d.path[4]] = d.value
			}
		}
		for _, name := range order {
			s := svcs[name]
			if s.sc == nil {
				continue
			}
			user, dyn := s.keys["User"], s.keys["DynamicUser"]
			var problems []string
			if dyn == nil && (user == nil || stringLit(user) == "root") {
				problems = append(problems, "runs as root")
			}
			none := true
			for _, k := range hardening {
				if s.keys[k] != nil {
					none = false
				}
			}
			if none {
				problems = append(problems, "sets none of "+strings.Join(hardening, ", "))
			}
			if len(problems) == 0 {
				continue
			}
			d := lint.Diagnostic{Pos: s.sc.Pos(), End: s.sc.End(), Message: "service `" + name + "` " + strings.Join(problems, " and ")}
			if set, ok := unwrapDef(s.sc.Value).(*syntax.AttrSet); ok && set.Open != nil && none {
				d.Fixes = []lint.Fix{{Message: "add a hardening baseline with mkDefault", Kind: lint.Suggested,
					Edits: []lint.TextEdit{{Pos: set.Open.End(), End: set.Open.End(), NewText: ` NoNewPrivileges = lib.mkDefault true; ProtectSystem = lib.mkDefault "strict"; ProtectHome = lib.mkDefault true; PrivateTmp = lib.mkDefault true;`}}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// stringLit returns the value of a string literal, or "".
func stringLit(x syntax.Expr) string {
	if s, ok := unparen(x).(*syntax.String); ok {
		if v, err := syntax.StringValue(s); err == nil {
			return v
		}
	}
	return ""
}

// FirewallDisabled reports networking.firewall.enable = false.
var FirewallDisabled = &lint.Rule{
	ID:       "NO603",
	Name:     "firewall-disabled",
	Severity: diag.Warning,
	Doc: `report networking.firewall.enable = false

Every port any service opens is then reachable from every network the
host joins. Open the ports that must be open instead
(networking.firewall.allowedTCPPorts, or a service's openFirewall). In a
fleet, FV02 names the layer that turned the firewall off. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			if d.is("networking.firewall.enable") && identName(d.value) == "false" {
				p.ReportRangef(d.attr, "the firewall is disabled")
			}
		}
		return nil
	},
}

// WeakSSH reports password logins and root logins over SSH.
var WeakSSH = &lint.Rule{
	ID:       "NO606",
	Name:     "weak-ssh",
	Severity: diag.Warning,
	Doc: `report SSH password authentication and PermitRootLogin = "yes"

services.openssh.settings.PasswordAuthentication = true (or the old
passwordAuthentication) lets anyone guess passwords; PermitRootLogin =
"yes" lets them guess root's. Use keys, and "prohibit-password" for root if
root must log in. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			path := strings.Join(d.path, ".")
			switch path {
			case "services.openssh.settings.PasswordAuthentication", "services.openssh.passwordAuthentication",
				"services.openssh.settings.KbdInteractiveAuthentication", "services.openssh.kbdInteractiveAuthentication":
				if identName(d.value) == "true" {
					p.ReportRangef(d.attr, "SSH accepts passwords")
				}
			case "services.openssh.settings.PermitRootLogin", "services.openssh.permitRootLogin":
				if stringLit(d.value) == "yes" {
					p.ReportRangef(d.attr, "SSH lets root log in with a password")
				}
			}
		}
		return nil
	},
}

// NoAutomaticGC reports a host configuration without store garbage
// collection.
var NoAutomaticGC = &lint.Rule{
	ID:       "NO604",
	Name:     "no-automatic-gc",
	Severity: diag.Warning,
	URL:      "https://nixos.org/manual/nixos/stable/#sec-nix-gc",
	Doc: `report a host configuration that never collects garbage

Generations and build results pile up until the disk is full. A file is a
host configuration when it sets system.stateVersion; it is reported when it
sets nix.gc.automatic nowhere and imports no other module that could. The
fix adds a weekly collection of generations older than 30 days and
automatic store optimisation; it is safe in the sense that it changes no
existing definition, only adds policy (fleet's own hosts configure this in
CUE, see FV06).`,
	Run: func(p *lint.Pass) error {
		var state *def
		gc, opt, imports := false, false, false
		defs := configDefs(p.File)
		for i, d := range defs {
			switch strings.Join(d.path, ".") {
			case "system.stateVersion":
				state = &defs[i]
			case "nix.gc.automatic":
				gc = true
			case "nix.optimise.automatic", "nix.settings.auto-optimise-store":
				opt = true
			}
		}
		if s := moduleSet(p.File); s != nil {
			for _, b := range s.Bindings {
				if a, ok := b.(*syntax.Attr); ok && a.Path != nil && len(a.Path.Names) == 1 {
					if n, _ := staticName(a.Path.Names[0]); n == "imports" {
						imports = true
					}
				}
			}
		}
		if state == nil || gc || imports {
			return nil
		}
		text := "nix.gc = { automatic = true; dates = \"weekly\"; options = \"--delete-older-than 30d\"; };"
		if !opt {
			text += " nix.optimise.automatic = true;"
		}
		indent := ""
		src := p.File.Src
		off := state.attr.Pos().Offset()
		for i := off - 1; i >= 0 && (src[i] == ' ' || src[i] == '\t'); i-- {
			indent = string(src[i]) + indent
		}
		eol := state.attr.End().Offset()
		for eol < len(src) && src[eol] != '\n' {
			eol++
		}
		at := syntax.Pos(eol + 1)
		p.Report(lint.Diagnostic{Pos: state.attr.Pos(), End: state.attr.End(),
			Message: "host configuration without automatic garbage collection (nix.gc.automatic)",
			Fixes: []lint.Fix{{Message: "add weekly garbage collection", Kind: lint.Safe,
				Edits: []lint.TextEdit{{Pos: at, End: at, NewText: "\n" + indent + text}}}}})
		return nil
	},
}

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
