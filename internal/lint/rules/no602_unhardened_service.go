package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

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
