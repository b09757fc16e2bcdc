package nixos_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/fleet"
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
	"fleetnix.dev/fleet/internal/nixos"
)

// These tests hold every Nix file fleet generates (the reference fleet's
// checked-in tree, both examples' trees, a fresh init fleet and every
// feature golden) to the manifest: no option or package path it lacks,
// no value its type rejects, no definition contradicting a nixpkgs
// module. The checked-in trees are kept current by schema's
// TestExamples and TestFeatureGolden, so checking them checks what
// fleetgen writes now.

func manifest(t *testing.T) *nixos.Manifest {
	t.Helper()
	m, err := nixos.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func report(t *testing.T, ds diag.List) {
	t.Helper()
	for _, d := range ds {
		line := d.Range.String() + ": " + d.Summary
		if d.Detail != "" {
			line += "\n\t" + d.Detail
		}
		t.Error(line)
	}
}

func TestGeneratedTrees(t *testing.T) {
	root := filepath.Join("..", "..")
	dirs := []string{filepath.Join(root, "nix")}
	ex, err := filepath.Glob(filepath.Join(root, "examples", "*", "nix"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) < 2 {
		t.Fatalf("found %d example trees, want at least minimal and homelab", len(ex))
	}
	dirs = append(dirs, ex...)
	m := manifest(t)
	for _, dir := range dirs {
		t.Run(filepath.ToSlash(strings.TrimPrefix(dir, root+string(filepath.Separator))), func(t *testing.T) {
			hosts, _ := filepath.Glob(filepath.Join(dir, "hosts", "*.nix"))
			if len(hosts) == 0 {
				t.Fatalf("no host modules under %s", dir)
			}
			ds, err := m.CheckTree(dir, nixos.Options{})
			if err != nil {
				t.Fatal(err)
			}
			report(t, ds)
		})
	}
}

// TestFeatureGoldens checks the feature goldens: host modules, and the
// desktop golden's home-manager module. The feature test fleet declares
// only the microvm input, so checks that need the flake's inputs are
// left to the trees above.
func TestFeatureGoldens(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "schema", "testdata", "features", "*.nix"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d feature goldens", len(files))
	}
	m := manifest(t)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, errs := syntax.Parse(name, src)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			k := nixos.NixOSModule
			if strings.HasSuffix(name, ".home.nix") {
				k = nixos.HomeModule
			}
			report(t, m.Check(f, k, nixos.Options{}))
		})
	}
}

// TestInitFleet generates the fleet fleetgen init writes and checks its
// tree.
func TestInitFleet(t *testing.T) {
	dir := t.TempDir()
	if err := fleet.InitWith(dir, fleet.InitOptions{Host: "web", User: "alice",
		SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJP6FPYh+17QXVum+Hs1KG7YiYy59yEl7SZ9lb7ayyU4 alice@laptop"}); err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
	if err != nil {
		var b bytes.Buffer
		fleet.PrintErrors(&b, dir, err)
		t.Fatalf("%v\n%s", err, b.String())
	}
	res, err := f.Generate(fleet.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := filepath.Glob(filepath.Join(res.OutDir, "hosts", "*.nix"))
	if len(hosts) == 0 {
		t.Fatalf("init fleet generated no host module under %s", res.OutDir)
	}
	ds, err := manifest(t).CheckTree(res.OutDir, nixos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	report(t, ds)
}

// TestTreeFindsDefects proves the tree check can fail: a copy of the
// reference tree with a misspelt option, a bad enum value, an unknown
// package and a definition contradicting the Plex module is rejected at
// each place.
func TestTreeFindsDefects(t *testing.T) {
	src := filepath.Join("..", "..", "nix")
	dir := t.TempDir()
	for _, rel := range []string{"flake.nix", "hosts/p620.nix"} {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if rel == "hosts/p620.nix" {
			s := string(b)
			for _, r := range [][2]string{
				{"    hostName = ", "    hostname = "},
				{`PermitRootLogin = "no"`, `PermitRootLogin = "sometimes"`},
				{"pkgs.k9s", "pkgs.k9z"},
			} {
				if !strings.Contains(s, r[0]) {
					t.Fatalf("hosts/p620.nix has no %q to break", r[0])
				}
				s = strings.Replace(s, r[0], r[1], 1)
			}
			end := strings.LastIndex(s, "}")
			s = s[:end] + "  services.plex.enable = true;\n  systemd.services.plex.serviceConfig.ProtectSystem = \"strict\";\n" + s[end:]
			b = []byte(s)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := manifest(t).CheckTree(dir, nixos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		nixos.CodeUnknownOption:  "networking.hostname: no such option",
		nixos.CodeBadValue:       `services.openssh.settings.PermitRootLogin: "sometimes"`,
		nixos.CodeUnknownPackage: "pkgs.k9z: no such package",
		nixos.CodeConflict:       "systemd.services.plex.serviceConfig.ProtectSystem: conflicting definition values",
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.Code] = d.Range.String() + ": " + d.Summary
		if !strings.HasPrefix(d.Range.File, dir) || d.Range.Start.Line == 0 {
			t.Errorf("finding without a position in the file: %s", d.Error())
		}
	}
	for code, w := range want {
		if !strings.Contains(got[code], w) {
			t.Errorf("%s: want a finding containing %q; got %q", code, w, got[code])
		}
	}
	if len(ds) != len(want) {
		t.Errorf("got %d findings, want %d:\n%v", len(ds), len(want), ds)
	}
}

// variantsFleet enables, across its hosts, every branch of the schema's
// NixOS and home-manager mappings that neither the reference fleet, the
// examples nor the feature goldens take, so that TestFeatureVariants
// holds what any feature can emit to the manifest.
var variantsFleet = map[string]string{
	"cue.mod/module.cue": "module: \"example.test/variants@v0\"\nlanguage: version: \"v0.17.0\"\n",
	"fleet.cue": `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

settings: inputs: {
	nixpkgs: url: "github:NixOS/nixpkgs/nixos-25.05"
	"home-manager": {url: "github:nix-community/home-manager/release-25.05", nixosModules: "nixosModules.home-manager": true}
	agenix: {url: "github:ryantm/agenix", nixosModules: "nixosModules.default": true}
	disko: url: "github:nix-community/disko"
	microvm: {url: "github:astro/microvm.nix", nixosModules: "nixosModules.host": true}
	"claude-desktop": url: "github:k3d3/claude-desktop-linux-flake"
	"yt-x": url: "github:Benexl/yt-x"
	media: url: "git+https://git.example.test/media-exporters"
}

users: alice: {
	uid: 1000
	shell: "nushell"
	groups: wheel: true
	sshKeys: laptop: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheVariantsTestOnlyNotReal00000001 alice@laptop"
}

secrets: {
	"ts-key": recipients: users: alice: true
	"cache-key": recipients: users: alice: true
	"luks": recipients: users: alice: true
}

_base: {
	stateVersion: "25.05"
	deploy: targetUser: "alice"
	users: alice: {}
}

_root: hardware: boot: loader: "systemd-boot"
_root: hardware: fileSystems: {
	"/": {device: "/dev/disk/by-label/root", fsType: "ext4"}
	"/boot": {device: "/dev/disk/by-label/ESP", fsType: "vfat"}
}

// full is every home-manager option of the schema.
_full: {
	terminals: {enable: true, alacritty: true, foot: true, ghostty: true, kitty: true, wezterm: true}
	editors: {enable: true, cursor: true, neovim: true, vscode: true, windsurf: true, zed: true}
	browsers: {enable: true, chrome: true, edge: true, firefox: true}
	desktop: {enable: true, sway: true, dunst: true, swaync: true, zathura: true, rofi: true, walker: true, obsidian: true, swaylock: true, swayosd: true, flameshot: true, kooha: true, remotedesktop: true, obs: true, evince: true, kdeconnect: true, slack: true, quickshell: true}
	cli: {enable: true, bat: true, btop: true, eza: true, fd: true, fzf: true, ripgrep: true, starship: true, yazi: true, zoxide: true}
	multiplexers: {enable: true, tmux: true, zellij: true}
	gaming: {enable: true, steam: true}
	development: {enable: true, languages: true, workflow: true, productivity: true}
	git: {enable: true, userName: "Alice", userEmail: "alice@example.test", defaultBranch: "trunk"}
	direnv: {enable: true, nixDirenv: false}
}
`,
	"hosts.cue": `package fleet

hosts: {
	net: _base & _root & {
		deploy: targetHost: "net.example.test"
		locale: {timeZone: "Europe/London", defaultLocale: "en_GB.UTF-8", keyMap: "uk"}
		network: {
			domain: "example.test"
			dhcp: false
			networkManager: true
			firewall: {trustedInterfaces: eth1: true, allowedTCPPorts: web: 8080, allowedUDPPorts: dns: 53}
			ssh: {port: 2222, permitRootLogin: "no"}
			tailscale: {enable: true, authKey: $secret: "ts-key", useRoutingFeatures: "both", advertiseRoutes: "10.0.0.0/8": true, exitNode: true, acceptRoutes: true, tags: server: true}
		}
		nix: {allowUnfree: true, flakes: false, optimise: false, gc: enable: false, serve: {enable: true, server: "harmonia", secretKey: $secret: "cache-key", publicKey: "net-1:CMPHuW3KtQ/nLgm58ktLChxut34DtrPaamBq2v2usSQ="}}
		features: virtualization: {enable: true, docker: {enable: true, rootless: true}, podman: {enable: true, dockerCompat: false}}
		features: ai: {enable: true, claudeDesktop: true, ollama: {enable: true, acceleration: "cpu", openFirewall: true}}
		users: alice: home: _full
	}
	gnome: _base & _root & {
		deploy: targetHost: "gnome.example.test"
		features: desktop: {enable: true, gnome: true, sway: true, cosmic: enable: true, hyprland: {enable: true, xwayland: false}}
		hardware: gpu: nvidia: {enable: true, prime: {enable: true, mode: "sync", nvidiaBusId: "PCI:1:0:0", amdgpuBusId: "PCI:5:0:0"}}
	}
	plasma: _base & _root & {
		deploy: targetHost: "plasma.example.test"
		features: desktop: {enable: true, plasma: true}
		features: virtualization: {enable: true, podman: {enable: true, dockerCompat: true}}
		hardware: gpu: nvidia: {enable: true, prime: {enable: true, mode: "reverseSync", nvidiaBusId: "PCI:1@0:0:0", intelBusId: "PCI:0:2:0"}}
		users: alice: shell: "fish"
	}
	disks: _base & {
		deploy: targetHost: "disks.example.test"
		hardware: fileSystems: "/": {device: "/dev/mapper/crypted", fsType: "ext4"}
		hardware: boot: loader: "grub"
		hardware: swap: "/dev/disk/by-partlabel/disk-main-swap": {}
		disks: main: {
			device: "/dev/disk/by-id/test-disk"
			partitions: {
				bios: {size: "1M", priority: 1, type: "EF02"}
				swap: {size: "8G", priority: 2, swap: {randomEncryption: true}}
				root: {size: "100%", priority: 3, luks: {name: "crypted", passwordFile: "/tmp/luks.key", allowDiscards: true}, filesystem: {format: "ext4", mountpoint: "/", mountOptions: noatime: true, extraArgs: ["-L", "root"]}}
			}
		}
	}
}
`,
}

// TestFeatureVariants generates variantsFleet and checks its tree.
func TestFeatureVariants(t *testing.T) {
	dir := t.TempDir()
	for name, src := range variantsFleet {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
	if err != nil {
		var b bytes.Buffer
		fleet.PrintErrors(&b, dir, err)
		t.Fatalf("%v\n%s", err, b.String())
	}
	res, err := f.Generate(fleet.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := manifest(t).CheckTree(res.OutDir, nixos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	report(t, ds)
}
