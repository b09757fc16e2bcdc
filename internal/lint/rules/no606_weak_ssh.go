package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

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
