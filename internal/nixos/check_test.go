package nixos

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// check parses src as a file of kind k and checks it against the
// embedded manifest.
func check(t *testing.T, src string, k Kind, opts Options) diag.List {
	t.Helper()
	m, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	f, errs := syntax.Parse("test.nix", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("test input does not parse: %v", errs)
	}
	return m.Check(f, k, opts)
}

func render(ds diag.List) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s: %s [%s] path=%s\n", d.Range, d.Summary, d.Code, strings.Join(d.Path, "."))
		if d.Detail != "" {
			fmt.Fprintf(&b, "\t%s\n", d.Detail)
		}
	}
	return b.String()
}

// A checkCase is a module and the findings it must produce, each a
// regular expression matched against "file:line:col: summary [code]
// path=...", in order.
type checkCase struct {
	src  string
	kind Kind
	opts Options
	want []string
}

var checkCases = map[string]checkCase{
	"clean": {src: `{ config, lib, pkgs, ... }: {
  networking.hostName = "p620";
  services.openssh = {
    enable = true;
    ports = [ 22 ];
    settings.PermitRootLogin = "prohibit-password";
    settings.MaxAuthTries = 3;
  };
  users.users.alice = {
    isNormalUser = true;
    shell = pkgs.zsh;
    hashedPasswordFile = config.age.secrets."alice-password".path;
    openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAA alice" ];
  };
  environment.systemPackages = [ pkgs.git pkgs.rocmPackages.clr.icd ];
  hardware.nvidia.package = config.boot.kernelPackages.nvidiaPackages.stable;
  swapDevices = [ { device = "/swapfile"; size = 8192; } ];
  fileSystems."/boot" = { device = "/dev/sda1"; fsType = "vfat"; options = [ "umask=0077" ]; };
  systemd.services.plex.serviceConfig.ProtectSystem = lib.mkForce "strict";
  services.plex.enable = true;
  services.grafana.settings.server.root_url = "https://example.test/";
  services.prometheus.scrapeConfigs = [ { job_name = "node"; static_configs = [ { targets = [ "a:9100" ]; labels.host = "a"; } ]; } ];
  microvm.vms.dev.config = { microvm.mem = 512; networking.hostName = "dev"; };
  home-manager.users.alice = import ../users/alice/p620.nix;
}
`, kind: NixOSModule},
	"unknown option": {src: `{ ... }: {
  services.openssh.enable = true;
  services.openssh.setings.PermitRootLogin = "no";
  services.opensshd.enable = true;
}
`, kind: NixOSModule, want: []string{
		`test.nix:3:3: services.openssh.setings: no such option in NixOS nixos-25.05 \[nixos-unknown-option\] path=services.openssh.setings`,
		`test.nix:4:3: services.opensshd: no such option in NixOS nixos-25.05 \[nixos-unknown-option\]`,
	}},
	"did you mean": {src: `{ ... }: { services.openssh.setings = { }; }`, kind: NixOSModule, want: []string{
		`services.openssh.setings: no such option`,
	}},
	"bad enum": {src: `{ ... }: {
  services.openssh.settings.PermitRootLogin = "maybe";
  services.tailscale.useRoutingFeatures = "router";
}
`, kind: NixOSModule, want: []string{
		`test.nix:2:47: services.openssh.settings.PermitRootLogin: "maybe" is not a value of type null or \(one of "yes", "without-password", "prohibit-password", "forced-commands-only", "no"\) \[nixos-bad-value\]`,
		`test.nix:3:43: services.tailscale.useRoutingFeatures: "router" is not a value of type one of "none", "client", "server", "both"`,
	}},
	"bad literal types": {src: `{ pkgs, ... }: {
  networking.firewall.allowedTCPPorts = [ 22 "80" 70000 ];
  services.openssh.enable = "yes";
  environment.systemPackages = [ "git" ];
  users.users.alice.uid = "1000";
  networking.hostName = "not a hostname";
  services.ollama.acceleration = "vulkan";
  fileSystems."/".options = "defaults";
  time.timeZone = ./zone;
  virtualisation = 3;
}
`, kind: NixOSModule, want: []string{
		`2:46: networking.firewall.allowedTCPPorts.1: "80" is not a value of type 16 bit unsigned integer`,
		`2:51: networking.firewall.allowedTCPPorts.2: 70000 is not a value`,
		`3:29: services.openssh.enable: "yes" is not a value of type boolean`,
		`4:34: environment.systemPackages.0: "git" is not a value of type package`,
		`5:27: users.users.alice.uid: "1000" is not a value of type null or \(signed integer\)`,
		`6:25: networking.hostName: "not a hostname" is not a value of type string matching`,
		`7:34: services.ollama.acceleration: "vulkan" is not a value`,
		`8:29: fileSystems./.options: "defaults" is not a value of type list of`,
		`9:19: time.timeZone: a path is not a value of type null or \(string\)`,
		`10:20: virtualisation: virtualisation is not an option but a set of options`,
	}},
	"unknown package": {src: `{ pkgs, ... }: {
  environment.systemPackages = [ pkgs.gitt pkgs.python3Packages.nonesuch ];
}
`, kind: NixOSModule, want: []string{
		`2:34: pkgs.gitt: no such package in nixpkgs nixos-25.05 \[nixos-unknown-package\] path=environment.systemPackages.0`,
		`2:44: pkgs.python3Packages.nonesuch: no such package`,
	}},
	"package from an input": {src: `{ pkgs, ... }: {
  environment.systemPackages = [ pkgs.claude-desktop ];
}
`, kind: NixOSModule, opts: Options{Inputs: map[string]string{"nixpkgs": "github:NixOS/nixpkgs/nixos-25.05"}}, want: []string{
		`2:34: pkgs.claude-desktop: not a package of nixpkgs nixos-25.05; the flake github:k3d3/claude-desktop-linux-flake provides it \[nixos-missing-input\]`,
	}},
	"package from an applied overlay": {src: `{ inputs, pkgs, ... }: {
  nixpkgs.overlays = [ inputs.claude.overlays.default ];
  environment.systemPackages = [ pkgs.claude-desktop ];
}
`, kind: NixOSModule, opts: Options{Inputs: map[string]string{"claude": "github:k3d3/claude-desktop-linux-flake"}}},
	"input not declared": {src: `{ inputs, pkgs, ... }: {
  environment.systemPackages = [ inputs.media.packages.${pkgs.stdenv.hostPlatform.system}.exporter ];
}
`, kind: NixOSModule, opts: Options{Inputs: map[string]string{"nixpkgs": "github:NixOS/nixpkgs/nixos-25.05"}}, want: []string{
		`2:34: inputs.media: the generated flake has no input media \[nixos-missing-input\]`,
	}},
	"option from an undeclared flake": {src: `{ ... }: {
  age.secrets.a.file = ../secrets/a.age;
  age.secrets.b.file = ../secrets/b.age;
}
`, kind: NixOSModule, opts: Options{Inputs: map[string]string{"nixpkgs": "github:NixOS/nixpkgs/nixos-25.05"}}, want: []string{
		`2:3: age.secrets: the option comes from agenix \(github:ryantm/agenix\), which the generated flake has no input for \[nixos-missing-input\]`,
	}},
	"conflicting define": {src: `{ lib, ... }: {
  services.plex.enable = true;
  systemd.services.plex.serviceConfig = {
    ProtectSystem = "strict";
    PrivateDevices = false;
    NoNewPrivileges = lib.mkForce false;
    ReadWritePaths = [ "/var/lib/plex" ];
    User = "plex";
    LockPersonality = lib.mkDefault false;
  };
}
`, kind: NixOSModule, want: []string{
		`4:21: systemd.services.plex.serviceConfig.ProtectSystem: conflicting definition values: "strict" here, true in nixpkgs' nixos/modules/services/misc/plex.nix when services.plex.enable is true \[nixos-conflicting-definition\]`,
	}},
	"define inactive": {src: `{ ... }: {
  systemd.services.plex.serviceConfig.ProtectSystem = "strict";
}
`, kind: NixOSModule},
	"home-manager tree": {src: `{ pkgs, ... }: {
  home.packages = [ pkgs.jq ];
  home.stateVersion = "25.11";
  programs.git = { enable = true; userName = "A"; extraConfig.init.defaultBranch = "main"; };
  programs.kitty.enable = true;
  services.openssh.enable = true;
}
`, kind: HomeModule, want: []string{
		`3:23: home.stateVersion: "25.11" is not a value of type one of`,
		`6:3: services.openssh: no such option in home-manager release-25.05`,
	}},
	"microvm guest": {src: `{ ... }: {
  microvm.vms.a.config = { microvm.hypervisor = "vmware"; microvm.mem = 0; };
  microvm.mem = 512;
}
`, kind: NixOSModule, want: []string{
		`2:49: microvm.vms.a.config.microvm.hypervisor: "vmware" is not a value`,
		`2:73: microvm.vms.a.config.microvm.mem: 0 is not a value of type integer of at least 1`,
		`3:3: microvm.mem: no such option in NixOS`,
	}},
	"disko": {src: `{
  disko.devices.disk.main = {
    type = "disk";
    device = "/dev/sda";
    content = {
      type = "gpt";
      partitions.root = { size = "100%"; content = { type = "filesystem"; format = "ext4"; mountpoint = "/"; }; };
      partitions.esp = { size = "1GB"; type = "EF00"; content = { type = "luks"; name = "c"; content = { type = "filesystem"; format = "vfat"; mountpoint = "boot"; }; }; };
    };
  };
}
`, kind: DiskoModule, want: []string{
		`8:33: disko.devices.disk.main.content.partitions.esp.size: "1GB" is not a value`,
		`8:157: disko.devices.disk.main.content.partitions.esp.content.content.mountpoint: "boot" is not a value`,
	}},
	"not a module": {src: `[ 1 2 ]`, kind: NixOSModule, want: []string{`test.nix:1:1: test.nix: not a module`}},
}

func TestCheck(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(checkCases)) {
		c := checkCases[name]
		t.Run(name, func(t *testing.T) {
			got := check(t, c.src, c.kind, c.opts)
			lines := strings.Split(strings.TrimSpace(render(got)), "\n")
			var findings []string
			for _, l := range lines {
				if l != "" && !strings.HasPrefix(l, "\t") {
					findings = append(findings, l)
				}
			}
			if len(findings) != len(c.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(findings), len(c.want), render(got))
			}
			for i, w := range c.want {
				if !regexp.MustCompile(w).MatchString(findings[i]) {
					t.Errorf("finding %d:\n got %s\nwant %s", i, findings[i], w)
				}
			}
		})
	}
}

func TestCheckDetail(t *testing.T) {
	got := check(t, `{ pkgs, ... }: { services.openssh.setings = { }; environment.systemPackages = [ pkgs.gitt ]; }`, NixOSModule, Options{})
	out := render(got)
	for _, want := range []string{"did you mean services.openssh.settings?", "did you mean pkgs.git?"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestKindOf(t *testing.T) {
	for rel, want := range map[string]Kind{
		"hosts/p620.nix": NixOSModule, "users/alice/p620.nix": HomeModule,
		"disks/p620.nix": DiskoModule, "installers/p620.nix": InstallerModule,
		"flake.nix": 0, "secrets/secrets.nix": 0, "hosts/readme.md": 0,
	} {
		got, ok := KindOf(rel)
		if got != want || ok != (want != 0) {
			t.Errorf("KindOf(%s) = %v, %v", rel, got, ok)
		}
	}
}

func TestFlakeInputs(t *testing.T) {
	f, errs := syntax.Parse("flake.nix", []byte(`{
  inputs = {
    agenix = { url = "github:ryantm/agenix"; inputs.nixpkgs.follows = "nixpkgs"; };
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
  };
  inputs.disko.url = "github:nix-community/disko";
  outputs = inputs: { };
}`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := FlakeInputs(f)
	want := map[string]string{"agenix": "github:ryantm/agenix", "nixpkgs": "github:NixOS/nixpkgs/nixos-25.05", "disko": "github:nix-community/disko"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestCheckOpaque: a check that stands for modules differing by a name
// says when a test of a string's content would answer otherwise for one
// of them, through a type's pattern, an either's branches and a
// conflict with nixpkgs' own definition, and not otherwise.
func TestCheckOpaque(t *testing.T) {
	disk := `{ disko.devices.disk.main.content.partitions.root.type = "NAME"; disko.devices.disk.main.device = "/dev/NAME"; }`
	for _, c := range []struct {
		src, name string
		others    []string
		kind      Kind
		differs   bool
	}{
		{disk, "beef", []string{"beef", "cafe"}, DiskoModule, false},
		{disk, "beef", []string{"beef", "zzzz"}, DiskoModule, true},
		{disk, "zzzz", []string{"beef"}, DiskoModule, true},
		{`{ networking.hostName = "NAME"; }`, "web-1", []string{"web-2", "db-10"}, NixOSModule, false},
		{`{ networking.hostName = "NAME"; }`, "web-1", []string{"web-2", "-web"}, NixOSModule, true},
		{`{ networking.hostName = "NAME"; }`, "web-1", []string{"web-2", "-web"}, HomeModule, false},
		{`{ services.nzbget.enable = true; systemd.services.nzbget.serviceConfig.Group = "NAME"; }`, "nzbget", []string{"nzbget"}, NixOSModule, false},
		{`{ services.nzbget.enable = true; systemd.services.nzbget.serviceConfig.Group = "NAME"; }`, "nzbget", []string{"nzbget", "qzxjqz"}, NixOSModule, true},
		{`{ services.nzbget.enable = true; systemd.services.nzbget.serviceConfig.Group = "NAME"; }`, "qzxjqz", []string{"nzbget"}, NixOSModule, true},
	} {
		op := &Opaque{Name: c.name, Others: c.others}
		src := strings.ReplaceAll(c.src, "NAME", c.name)
		got := check(t, src, c.kind, Options{Opaque: op})
		if op.Differs != c.differs {
			t.Errorf("%s as %s for %v: differs %v, want %v", c.src, c.name, c.others, op.Differs, c.differs)
		}
		// Without Opaque the same findings.
		if want := check(t, src, c.kind, Options{}); render(got) != render(want) {
			t.Errorf("%s: findings with Opaque\n%s\nwithout\n%s", c.src, render(got), render(want))
		}
	}
}
