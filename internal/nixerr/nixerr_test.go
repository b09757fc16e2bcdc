package nixerr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The samples are what Nix 2.8 printed evaluating the miniature nixpkgs
// of testdata/mininixpkgs, whose messages are worded as nixpkgs words
// them, and the older and colored forms of the same messages.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		name   string
		stderr string
		want   []Problem
	}{{
		name: "assertions",
		stderr: "warning: creating lock file '/f/nix/flake.lock'\n" +
			"error: \n" +
			"       Failed assertions:\n" +
			"       - The ‘fileSystems’ option does not specify your root file system.\n" +
			"       - alice profile: The option definition `programs.foo' in `/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-source/hosts/h.nix' no longer has any effect; please remove it.\n" +
			"       Use programs.bar instead.\n" +
			"(use '--show-trace' to show detailed location information)\n",
		want: []Problem{{
			Kind:    Assertion,
			Message: "Failed assertions:\n- The ‘fileSystems’ option does not specify your root file system.\n- alice profile: The option definition `programs.foo' in `/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-source/hosts/h.nix' no longer has any effect; please remove it.\nUse programs.bar instead.",
			Items: []string{
				"The ‘fileSystems’ option does not specify your root file system.",
				"alice profile: The option definition `programs.foo' in `/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-source/hosts/h.nix' no longer has any effect; please remove it.\nUse programs.bar instead.",
			},
		}},
	}, {
		name: "undeclared",
		stderr: "error: The option `services.opensh' does not exist. Definition values:\n" +
			"       - In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/typo.nix':\n" +
			"           {\n" +
			"             enable = true;\n" +
			"           }\n",
		want: []Problem{{
			Kind:    UndeclaredOption,
			Message: "The option `services.opensh' does not exist. Definition values:\n- In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/typo.nix':\n    {\n      enable = true;\n    }",
			Option:  "services.opensh",
			Defs:    []Def{{File: "/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/typo.nix", Value: "{\n  enable = true;\n}"}},
		}},
	}, {
		name: "conflict",
		stderr: "error: The option `systemd.services.plex.serviceConfig.ProtectSystem' has conflicting definition values:\n" +
			"       - In `/nix/store/54mxw2fa2vg6rx0xmvi030pagv0x9jra-source/nixos/modules/services/plex.nix': \"full\"\n" +
			"       - In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/media.nix': \"strict\"\n" +
			"       Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.\n" +
			"(use '--show-trace' to show detailed location information)\n",
		want: []Problem{{
			Kind:    Conflict,
			Message: "The option `systemd.services.plex.serviceConfig.ProtectSystem' has conflicting definition values:\n- In `/nix/store/54mxw2fa2vg6rx0xmvi030pagv0x9jra-source/nixos/modules/services/plex.nix': \"full\"\n- In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/media.nix': \"strict\"\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.",
			Option:  "systemd.services.plex.serviceConfig.ProtectSystem",
			Defs: []Def{
				{File: "/nix/store/54mxw2fa2vg6rx0xmvi030pagv0x9jra-source/nixos/modules/services/plex.nix", Value: `"full"`},
				{File: "/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/media.nix", Value: `"strict"`},
			},
		}},
	}, {
		name: "unique",
		stderr: "error: The option `users.users.a.shell' is defined multiple times while it's expected to be unique.\n" +
			"       \n" +
			"       Definition values:\n" +
			"       - In `/x/a.nix': <derivation bash>\n" +
			"       - In `/x/b.nix': <derivation zsh>\n" +
			"       Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.\n",
		want: []Problem{{
			Kind:    Conflict,
			Message: "The option `users.users.a.shell' is defined multiple times while it's expected to be unique.\n\nDefinition values:\n- In `/x/a.nix': <derivation bash>\n- In `/x/b.nix': <derivation zsh>\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.",
			Option:  "users.users.a.shell",
			Defs:    []Def{{File: "/x/a.nix", Value: "<derivation bash>"}, {File: "/x/b.nix", Value: "<derivation zsh>"}},
		}},
	}, {
		name: "type of a list element",
		stderr: "error: A definition for option `networking.firewall.allowedTCPPorts.\"[definition 1-entry 2]\"' is not of type `16 bit unsigned integer; between 0 and 65535 (both inclusive)'. Definition values:\n" +
			"       - In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/web.nix': \"http\"\n",
		want: []Problem{{
			Kind:    WrongType,
			Message: "A definition for option `networking.firewall.allowedTCPPorts.\"[definition 1-entry 2]\"' is not of type `16 bit unsigned integer; between 0 and 65535 (both inclusive)'. Definition values:\n- In `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/web.nix': \"http\"",
			Option:  `networking.firewall.allowedTCPPorts."[definition 1-entry 2]"`,
			Type:    "16 bit unsigned integer; between 0 and 65535 (both inclusive)",
			Defs:    []Def{{File: "/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/web.nix", Value: `"http"`}},
		}},
	}, {
		name: "missing attribute",
		stderr: "error: attribute 'github-copilot-cli' missing\n" +
			"\n" +
			"       at /nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/devbox.nix:17:34:\n" +
			"\n" +
			"           16|   console.keyMap = \"us\";\n" +
			"           17|   environment.systemPackages = [ pkgs.github-copilot-cli ];\n" +
			"             |                                  ^\n" +
			"           18|   fileSystems.\"/\" = {\n" +
			"(use '--show-trace' to show detailed location information)\n",
		want: []Problem{{
			Kind:    MissingAttribute,
			Message: "attribute 'github-copilot-cli' missing",
			Attr:    "github-copilot-cli",
			At:      &Location{File: "/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/devbox.nix", Line: 17, Col: 34},
		}},
	}, {
		name:   "missing attribute with suggestions",
		stderr: "error: attribute 'glow' missing\n\n       at /x/u.nix:10:18:\n\n            9|   home.packages = [\n           10|     pkgs.glow\n             |     ^\n\n       Did you mean one of go or gopls?\n",
		want: []Problem{{
			Kind:        MissingAttribute,
			Message:     "attribute 'glow' missing\n\nDid you mean one of go or gopls?",
			Attr:        "glow",
			At:          &Location{File: "/x/u.nix", Line: 10, Col: 18},
			Suggestions: []string{"go", "gopls"},
		}},
	}, {
		name:   "undefined",
		stderr: "error: The option `nixpkgs.hostPlatform' is used but not defined.\n(use '--show-trace' to show detailed location information)\n",
		want:   []Problem{{Kind: Undefined, Message: "The option `nixpkgs.hostPlatform' is used but not defined.", Option: "nixpkgs.hostPlatform"}},
	}, {
		name: "warnings, colored and old-style, then success",
		stderr: "trace: \x1b[1;31mevaluation warning:\x1b[0m The option `services.openssh.permitRootLogin' defined in `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/legacy.nix' has been renamed to `services.openssh.settings.PermitRootLogin'.\n" +
			"trace: warning: alice profile: something is off\n" +
			"over two lines\n" +
			"trace: not a warning\n" +
			"warning: Git tree '/f' is dirty\n",
		want: []Problem{{
			Kind: Deprecation, IsWarning: true,
			Message:   "The option `services.openssh.permitRootLogin' defined in `/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/legacy.nix' has been renamed to `services.openssh.settings.PermitRootLogin'.",
			Option:    "services.openssh.permitRootLogin",
			Files:     []string{"/nix/store/a3ip8b5z2pzq1m4m0pxk46w615j911bx-source/hosts/legacy.nix"},
			RenamedTo: "services.openssh.settings.PermitRootLogin",
		}, {
			Kind: Warning, IsWarning: true, Message: "alice profile: something is off\nover two lines",
		}},
	}, {
		name:   "other",
		stderr: "error: undefined variable 'foo'\n\n       at /x/h.nix:3:5:\n\n            2| {\n            3|   a = foo;\n             |       ^\n",
		want:   []Problem{{Kind: Other, Message: "undefined variable 'foo'", At: &Location{File: "/x/h.nix", Line: 3, Col: 5}}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, Parse(c.stderr)); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListElement(t *testing.T) {
	list, i, ok := ListElement(`environment.systemPackages."[definition 2-entry 3]"`)
	if !ok || list != "environment.systemPackages" || i != 2 {
		t.Errorf("ListElement = %q %d %v", list, i, ok)
	}
	if _, _, ok := ListElement("environment.systemPackages"); ok {
		t.Error("a plain option read as a list element")
	}
}

func TestOptionNames(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want []string
	}{
		{"You must set the option ‘boot.loader.grub.devices’ or 'boot.loader.grub.mirroredBoots' to make the system bootable.",
			[]string{"boot.loader.grub.devices", "boot.loader.grub.mirroredBoots"}},
		{"The ‘fileSystems’ option does not specify your root file system.", []string{"fileSystems"}},
		{"Exactly one of users.users.alice.isSystemUser and users.users.alice.isNormalUser must be set.",
			[]string{"users.users.alice.isSystemUser", "users.users.alice.isNormalUser"}},
		{"The option definition `services.x.y' in `/nix/store/a-source/h.nix' no longer has any effect",
			[]string{"services.x.y"}},
		{"nothing here", nil},
	} {
		if diff := cmp.Diff(c.want, OptionNames(c.msg)); diff != "" {
			t.Errorf("OptionNames(%q) (-want +got):\n%s", c.msg, diff)
		}
	}
}
