package schema_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"fleetnix.dev/fleet/fleet"
)

// The feature tests build small fleets on disk: one host per case, each
// starting from the same base, so one load reports every case's errors and
// one generation writes every case's host file.

const featureFleet = `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

// The microvms case needs the flake input microvm.nix provides, the
// programs case yt-x's.
settings: inputs: microvm: {
	url: "github:astro/microvm.nix"
	nixosModules: "nixosModules.host": true
}
settings: inputs: "yt-x": url: "github:Benexl/yt-x"

users: {
	alice: {
		uid:   1000
		shell: "bash"
		groups: wheel: true
		sshKeys: laptop: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForFleetFeatureTestsOnlyNotReal0001 alice@laptop"
	}
	bob: {
		uid: 1001
		sshKeys: desk: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForFleetFeatureTestsOnlyNotReal0002 bob@desk"
	}
	// carol has no way to log in, for the case that says so.
	carol: uid: 1002
}

secrets: {
	"alice-password": recipients: users: alice: true
	"api-key": recipients: users: alice: true
}

// _base is every test host's starting point: a UEFI machine with a disk,
// a deploy user and one account.
_base: {
	stateVersion: "25.05"
	deploy: targetUser: "alice"
	hardware: {
		boot: loader: "systemd-boot"
		fileSystems: {
			"/": {device: "/dev/disk/by-label/root", fsType: "ext4"}
			"/boot": {device: "/dev/disk/by-label/boot", fsType: "vfat"}
		}
	}
	users: alice: {}
}
`

// writeFleet writes a fleet with the base above and hosts.cue holding one
// host per case, `hosts: <name>: _base & {<snippet>}`, and returns its
// directory.
func writeFleet(t *testing.T, hosts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("package fleet\n\nhosts: {\n")
	for _, name := range sortedKeys(hosts) {
		b.WriteString("\t\"" + name + "\": _base & {\n")
		b.WriteString("\t\tdeploy: targetHost: \"" + name + ".example.test\"\n")
		for _, line := range strings.Split(strings.TrimSpace(hosts[name]), "\n") {
			b.WriteString("\t\t" + strings.TrimSpace(line) + "\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	files := map[string]string{
		"cue.mod/module.cue": "module: \"example.test/features@v0\"\nlanguage: version: \"v0.17.0\"\n",
		"fleet.cue":          featureFleet,
		"hosts.cue":          b.String(),
		// Users' homes need home-manager's module, secrets agenix's.
		"inputs.cue": "package fleet\n\nsettings: inputs: {\n" +
			"\t\"home-manager\": {url: \"github:nix-community/home-manager/release-25.05\", nixosModules: \"nixosModules.home-manager\": true}\n" +
			"\tagenix: {url: \"github:ryantm/agenix\", nixosModules: \"nixosModules.default\": true}\n}\n",
	}
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// An invalidCase is a feature value the schema must reject: the host
// snippet and regular expressions the error's summary must all match.
type invalidCase struct {
	snippet string
	want    []string
}

// invalid lists, per feature, values that make no sense. Each key is the
// test host's name: the feature, then what is wrong.
var invalid = map[string]invalidCase{
	// development
	"dev-cargo-without-rust": {
		`features: development: {enable: true, tools: cargo: true}`,
		[]string{`features\.development\.tools\.cargo: .*tools\.cargo needs languages\.rust`},
	},
	"dev-unknown-language": {
		`features: development: {enable: true, languages: cobol: true}`,
		[]string{`features\.development\.languages\.cobol: field not allowed`},
	},
	// virtualization
	"virt-podman-docker-compat": {
		`features: virtualization: {enable: true, docker: enable: true, podman: {enable: true, dockerCompat: true}}`,
		[]string{`podman\.dockerCompat: .*cannot run beside docker\.enable`},
	},
	"virt-docker-as-bool": {
		`features: virtualization: {enable: true, docker: true}`,
		[]string{`features\.virtualization\.docker: true is a bool, but docker holds a struct of enable, rootless, autoPrune`},
	},
	// cloud
	"cloud-not-a-bool": {
		`features: cloud: {enable: true, aws: "yes"}`,
		[]string{`features\.cloud\.aws: yes is a string, but aws holds true or false`},
	},
	// security
	"sec-root-login": {
		`features: security: {enable: true, sshHardening: enable: true}
		network: ssh: permitRootLogin: "yes"`,
		[]string{`network\.ssh\.permitRootLogin: .*sshHardening forbids root login`},
	},
	"sec-deploy-user-not-allowed": {
		`features: security: {enable: true, sshHardening: {enable: true, allowUsers: bob: true}}
		users: bob: {}`,
		[]string{`sshHardening\.allowUsers: .*deploy\.targetUser alice must be allowed to log in over SSH`},
	},
	"sec-max-auth-tries": {
		`features: security: {enable: true, sshHardening: {enable: true, maxAuthTries: 0}}`,
		[]string{`sshHardening\.maxAuthTries: 0 is out of range: maxAuthTries must be >=1`},
	},
	"sec-ban-time": {
		`features: security: {enable: true, sshHardening: {enable: true, fail2ban: {enable: true, banTime: "forever"}}}`,
		[]string{`fail2ban\.banTime: forever is not a systemd-style time span`},
	},
	// programs
	"programs-unknown": {
		`features: programs: {enable: true, word: true}`,
		[]string{`features\.programs\.word: field not allowed`},
	},
	// desktop
	"desktop-chord-bound-twice": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: {
			"focus-right": {mods: SUPER: true, key: "l", dispatcher: "movefocus", arg: "r"}
			lock: {mods: SUPER: true, key: "L", dispatcher: "exec", arg: "hyprlock"}
		}}}`,
		[]string{`#chords\.SUPER \+ l: conflicting values (focus-right and lock|lock and focus-right)`},
	},
	"desktop-key-symbol": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: calc: {mods: SUPER: true, key: "=", dispatcher: "exec", arg: "qalc"}}}`,
		[]string{`bindings\.calc\.key: = does not match =~`},
	},
	"desktop-unknown-modifier": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: term: {mods: WIN: true, key: "Return", dispatcher: "exec", arg: "foot"}}}`,
		[]string{`bindings\.term\.mods\.WIN: field not allowed`},
	},
	"desktop-unknown-dispatcher": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: term: {mods: SUPER: true, key: "Return", dispatcher: "launch", arg: "foot"}}}`,
		[]string{`bindings\.term\.dispatcher: launch does not match =~\^\(exec\|`},
	},
	"desktop-bad-direction": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: left: {mods: SUPER: true, key: "h", dispatcher: "movefocus", arg: "left"}}}`,
		[]string{`bindings\.left\.arg: left does not match =~\^\[lrud\]\$`},
	},
	"desktop-exec-without-command": {
		`features: desktop: {enable: true, hyprland: {enable: true, bindings: term: {mods: SUPER: true, key: "Return", dispatcher: "exec"}}}`,
		[]string{`bindings\.term\.arg is required, and no layer sets it`},
	},
	"desktop-gnome-and-plasma": {
		`features: desktop: {enable: true, gnome: true, plasma: true}`,
		[]string{`features\.desktop\.plasma: .*GNOME and Plasma cannot both be enabled`},
	},
	// power
	"power-thresholds-inverted": {
		`features: power: {enable: true, battery: {startThreshold: 90, stopThreshold: 80}}`,
		[]string{`battery\.startThreshold: 90 is out of range: startThreshold must be <80`},
	},
	"power-thermald-on-amd": {
		`hardware: cpu: vendor: "amd"
		features: power: {enable: true, thermald: true}`,
		[]string{`features\.power\.thermald: .*thermald supports Intel CPUs only`},
	},
	"power-unknown-governor": {
		`features: power: {enable: true, governor: "turbo"}`,
		[]string{`features\.power\.governor: .*turbo`},
	},
	// ai
	"ai-priority-twice": {
		`features: ai: {enable: true, providers: {
			enable: true
			openai: {enable: true, apiKey: $secret: "api-key", priority: 1}
			anthropic: {enable: true, apiKey: $secret: "api-key", priority: 1}
		}}`,
		[]string{`#priorities\.1: conflicting values (openai and anthropic|anthropic and openai)`},
	},
	"ai-default-disabled": {
		`features: ai: {enable: true, providers: {enable: true, defaultProvider: "gemini", openai: {enable: true, apiKey: $secret: "api-key"}}}`,
		[]string{`providers\.defaultProvider: .*the default provider must be enabled`},
	},
	"ai-key-literal": {
		`features: ai: {enable: true, providers: {enable: true, openai: {enable: true, apiKey: "sk-literal"}}}`,
		[]string{`openai\.apiKey: a literal string where a secret belongs`},
	},
	"ai-key-missing": {
		`features: ai: {enable: true, providers: {enable: true, openai: enable: true}}`,
		[]string{`openai\.apiKey is required, and no layer sets it`},
	},
	"ai-ollama-nowhere": {
		`features: ai: {enable: true, providers: {enable: true, defaultProvider: "ollama", ollama: enable: true}}`,
		[]string{`providers\.ollama\.url is required, and no layer sets it`},
	},
	"ai-rocm-without-amd": {
		`features: ai: {enable: true, ollama: {enable: true, acceleration: "rocm"}}`,
		[]string{`ollama\.acceleration: .*acceleration rocm needs an AMD GPU with ROCm`},
	},
	"ai-timeout": {
		`features: ai: {enable: true, providers: timeout: 0}`,
		[]string{`providers\.timeout: 0 is out of range: timeout must be >=1`},
	},
	// microvms
	"vm-port-twice": {
		`features: microvms: {enable: true, vms: {
			a: {template: "dev", forwardPorts: ssh: host: 2230}
			b: {template: "test", forwardPorts: ssh: host: 2230}
		}}`,
		[]string{`#forwarded\.2230: conflicting values (a\.ssh and b\.ssh|b\.ssh and a\.ssh)`},
	},
	"vm-port-host-service": {
		`features: microvms: {enable: true, vms: a: {template: "test", forwardPorts: ssh: host: 22}}`,
		[]string{`vms\.a\.forwardPorts\.ssh\.host: .*host port 22 is taken by the host's sshd`},
	},
	"vm-password": {
		`features: microvms: {enable: true, vms: a: {template: "test", password: "test"}}`,
		[]string{`vms\.a\.password: field not allowed`},
	},
	"vm-template": {
		`features: microvms: {enable: true, vms: a: template: "desktop"}`,
		[]string{`vms\.a\.template: .*desktop`},
	},
	"vm-memory": {
		`features: microvms: {enable: true, vms: a: {template: "test", memory: 64}}`,
		[]string{`vms\.a\.memory: 64 is out of range: memory must be >=256`},
	},
	// hardware
	"hw-prime-without-igpu": {
		`hardware: gpu: nvidia: {enable: true, prime: {enable: true, nvidiaBusId: "PCI:1:0:0"}}`,
		[]string{`prime\.enable: .*PRIME needs the integrated GPU's bus ID`},
	},
	"hw-prime-two-igpus": {
		`hardware: gpu: nvidia: {enable: true, prime: {enable: true, nvidiaBusId: "PCI:1:0:0", intelBusId: "PCI:0:2:0", amdgpuBusId: "PCI:5:0:0"}}`,
		[]string{`prime\.enable: .*not both`},
	},
	"hw-prime-bus-id": {
		`hardware: gpu: nvidia: {enable: true, prime: {enable: true, nvidiaBusId: "01:00.0", intelBusId: "PCI:0:2:0"}}`,
		[]string{`prime\.nvidiaBusId: 01:00\.0 is not a PCI bus address`},
	},
	"hw-open-legacy-driver": {
		`hardware: gpu: nvidia: {enable: true, open: true, driver: "legacy_470"}`,
		[]string{`gpu\.nvidia\.open: .*legacy_470 has none`},
	},
	"hw-filesystem-type": {
		`hardware: fileSystems: "/data": {device: "/dev/sdb1", fsType: "ext5"}`,
		[]string{`fileSystems\./data\.fsType: .*ext5`},
	},
	"hw-swap-size": {
		`hardware: swap: "/swapfile": size: 0`,
		[]string{`swap\./swapfile\.size: 0 is out of range: size must be >0`},
	},
	"hw-microcode-without-vendor": {
		`hardware: cpu: vendor: "arm"`,
		[]string{`hardware\.cpu\.vendor: .*arm`},
	},
	// users
	"users-same-uid": {
		`users: bob: uid: 1000`,
		[]string{`#uids\.1000: conflicting values (alice and bob|bob and alice)`},
	},
	"users-literal-password": {
		`users: alice: hashedPassword: "$6$notahash"`,
		[]string{`users\.alice\.hashedPassword: a literal string where a secret belongs`},
	},
	"users-no-login": {
		`users: carol: {}`,
		[]string{`users\.carol: carol could not log in: the account has neither sshKeys nor a hashedPassword`},
	},
	"users-immutable-no-admin": {
		`mutableUsers: false
		users: alice: groups: wheel: false`,
		[]string{`mutableUsers: with immutable users nobody could log in to administer the host`},
	},
	"users-unknown-shell": {
		`users: alice: shell: "csh"`,
		[]string{`users\.alice\.shell: .*csh`},
	},
	// nix
	"nix-substituter-without-key": {
		`nix: substituters: "https://cache.example.test": {}`,
		[]string{`substituters\.https://cache\.example\.test\.publicKey is required, and no layer sets it`},
	},
	"nix-trusted-stranger": {
		`nix: trustedUsers: mallory: true`,
		[]string{`nix\.trustedUsers\.mallory: .*names mallory, who is not a user of this host`},
	},
	"nix-gc-age": {
		`nix: gc: olderThan: "a month"`,
		[]string{`nix\.gc\.olderThan: a month is not a systemd-style time span`},
	},
	"nix-cache-key": {
		`nix: substituters: "https://cache.example.test": publicKey: "not-a-key"`,
		[]string{`publicKey: not-a-key is not a Nix binary cache signing key`},
	},
}

// TestFeatureRejects loads fleets holding the invalid cases and checks
// that each host's errors say what is wrong, at a position in the user's
// file, and that no host fails without a case expecting it. Errors
// against the partial schema stop a load before hosts are unified with
// #Host, so the cases left without errors are loaded again on their own.
func TestFeatureRejects(t *testing.T) {
	byHost := map[string][]fleet.Diagnostic{}
	remaining := map[string]string{}
	for name, c := range invalid {
		remaining[name] = c.snippet
	}
	for len(remaining) > 0 {
		dir := writeFleet(t, remaining)
		_, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
		var errs fleet.Errors
		if !errors.As(err, &errs) {
			break // the cases left are accepted; reported below
		}
		for _, d := range errs {
			host := ""
			if len(d.Path) >= 2 && d.Path[0] == "hosts" {
				host = strings.Trim(d.Path[1], `"\`)
			}
			byHost[host] = append(byHost[host], d)
			delete(remaining, host)
		}
		if len(byHost[""]) > 0 {
			t.Fatalf("errors outside any host:\n%s", summaries(byHost[""]))
		}
	}
	for _, name := range sortedKeys(invalid) {
		t.Run(name, func(t *testing.T) {
			ds := byHost[name]
			if len(ds) == 0 {
				t.Fatalf("accepted; want an error matching %q", invalid[name].want)
			}
			for _, w := range invalid[name].want {
				rx := regexp.MustCompile(w)
				found := false
				for _, d := range ds {
					if rx.MatchString(unquote.Replace(d.Summary)) {
						found = true
						if d.Pos.File == "" || d.Pos.Line == 0 {
							t.Errorf("error %q has no position", d.Summary)
						}
					}
				}
				if !found {
					t.Errorf("no error matches %q; got:\n%s", w, summaries(ds))
				}
			}
		})
	}
	for host, ds := range byHost {
		if _, ok := invalid[host]; !ok {
			t.Errorf("unexpected errors outside the cases (host %q):\n%s", host, summaries(ds))
		}
	}
}

// unquote drops the quotes of error summaries, so that the patterns
// above need not follow how a path quotes its labels (hosts."a-b",
// #chords."SUPER + l") or a message quotes its values.
var unquote = strings.NewReplacer(`\"`, "", `"`, "")

func summaries(ds []fleet.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\t" + d.Summary + "\n")
	}
	return b.String()
}

// golden lists, per feature, a host with the feature on; the host's
// generated module is compared with testdata/features/<name>.nix, and for
// desktop the user's home module with desktop.home.nix. FLEET_UPDATE=1
// rewrites them.
var golden = map[string]string{
	"development": `features: development: {
		enable: true
		languages: {go: true, java: true, lua: true, nix: true, nodejs: true, python: true, rust: true, shell: true}
		tools: {ansible: true, cargo: true, copilotCli: true, devshell: true, github: true, preCommit: true, specKit: true}
	}`,
	"virtualization": `features: virtualization: {
		enable: true
		docker: {enable: true, rootless: true, autoPrune: true}
		podman: {enable: true, autoPrune: true}
		libvirt: {enable: true, swtpm: true}
		spice: true
		sunshine: true
		incus: true
	}`,
	"cloud": `features: cloud: {enable: true, aws: true, azure: true, google: true, k8s: true, terraform: true}`,
	"security": `features: security: {
		enable: true
		onepassword: true
		gnupg: true
		sshHardening: {
			enable: true
			maxAuthTries: 4
			fail2ban: {enable: true, maxRetry: 3, banTime: "30m", ignore: "192.168.1.0/24": true}
		}
	}`,
	"programs": `features: programs: {enable: true, lazygit: true, thunderbird: true, obsidian: true, office: true, webcam: true, print: true, ytX: true}`,
	"desktop": `features: desktop: {
		enable: true
		remoteDesktop: true
		droidcam: true
		cosmic: {enable: true, greeter: true}
		hyprland: {
			enable: true
			bindings: {
				terminal: {mods: SUPER: true, key: "Return", dispatcher: "exec", arg: "foot"}
				close: {mods: {SUPER: true, SHIFT: true}, key: "q", dispatcher: "killactive"}
				"focus-left": {mods: SUPER: true, key: "h", dispatcher: "movefocus", arg: "l"}
				"volume-up": {key: "XF86AudioRaiseVolume", dispatcher: "exec", arg: "wpctl set-volume @DEFAULT_AUDIO_SINK@ 5%+", repeat: true, locked: true}
				mute: {key: "XF86AudioMute", dispatcher: "exec", arg: "wpctl set-mute @DEFAULT_AUDIO_SINK@ toggle", locked: true}
				drag: {mods: SUPER: true, key: "mouse:272", dispatcher: "movewindow", mouse: true}
			}
		}
	}`,
	"power": `hardware: cpu: vendor: "intel"
	features: power: {
		enable: true
		governor: "powersave"
		thermald: true
		powertop: true
		battery: {startThreshold: 40, stopThreshold: 80}
	}`,
	"ai": `hardware: gpu: nvidia: {enable: true, cuda: true}
	features: ai: {
		enable: true
		ollama: {enable: true, models: {"llama3.2": true}}
		geminiCli: true
		providers: {
			enable: true
			defaultProvider: "anthropic"
			enableFallback: true
			costOptimization: true
			timeout: 60
			retries: 1
			anthropic: {enable: true, apiKey: $secret: "api-key", priority: 1}
			openai: {enable: true, apiKey: $secret: "api-key", priority: 2, model: "gpt-4o"}
			ollama: enable: true
		}
	}`,
	"microvms": `features: microvms: {
		enable: true
		vms: {
			"dev-vm": {template: "dev", autostart: true, packages: {jq: true, cmake: false}}
			"test-vm": {template: "test", memory: 2048, vcpus: 2, forwardPorts: web: {host: 8090, guest: 8000}}
			"playground-vm": {template: "playground", shares: data: {source: "/srv/data", mountPoint: "/data"}}
		}
	}`,
	"hardware-amd": `hardware: {
		cpu: {vendor: "amd", amdPstate: true}
		gpu: amd: {enable: true, rocm: true, gfxOverride: "11.0.0"}
		initrd: availableKernelModules: {nvme: true, xhci_pci: true}
		kernelModules: "k10temp": true
		swap: "/swapfile": {size: 8192, priority: 10}
	}`,
	"hardware-nvidia": `hardware: {
		cpu: vendor: "intel"
		gpu: nvidia: {enable: true, cuda: true, open: true, driver: "production"}
		kernelParams: "module_blacklist=nouveau": true
		fileSystems: "/mnt/media": {device: "/dev/disk/by-label/media", fsType: "xfs", options: {nofail: true, noatime: true}}
	}`,
	"hardware-optimus": `hardware: {
		cpu: vendor: "intel"
		gpu: intel: {enable: true, vaapi: true}
		gpu: nvidia: {enable: true, cuda: true, open: true, powerManagement: true, prime: {enable: true, mode: "offload", intelBusId: "PCI:0:2:0", nvidiaBusId: "PCI:1:0:0"}}
	}`,
	"hardware-intel": `hardware: {
		cpu: {vendor: "intel", microcode: true}
		gpu: intel: {enable: true, vaapi: true}
		redistributableFirmware: true
	}`,
	"users": `users: {
		alice: {shell: "zsh", hashedPassword: $secret: "alice-password", groups: video: true}
		bob: {shell: "fish", description: "Bob", sshKeys: desk: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForFleetFeatureTestsOnlyNotReal0002 bob@desk"}
	}`,
	"nix": `nix: {
		flakes: true
		allowUnfree: true
		gc: {dates: "Sun 03:15", olderThan: "14d"}
		optimise: true
		substituters: {
			"https://cache.nixos.org": {}
			"https://nix-community.cachix.org": publicKey: "nix-community.cachix.org-1:mB9FSh9qf2dCimDSUo8Zy7bkq5CX+/rkCWyvRCYg3Fs="
		}
		trustedUsers: {"@wheel": true, alice: true}
	}`,
}

// TestFeatureGolden generates one fleet with a host per feature and
// compares each host's module with its golden file. The output must stay
// free of with, rec and mkIf.
func TestFeatureGolden(t *testing.T) {
	dir := writeFleet(t, golden)
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
	if err != nil {
		var b bytes.Buffer
		fleet.PrintErrors(&b, dir, err)
		t.Fatalf("loading the feature fleet: %v\n%s", err, b.String())
	}
	res, err := f.Generate(fleet.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	update := os.Getenv("FLEET_UPDATE") != ""
	check := func(t *testing.T, got, goldenFile string) {
		t.Helper()
		b, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"with ", "rec {", "mkIf"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s contains %q", filepath.Base(got), bad)
			}
		}
		want := filepath.Join("testdata", "features", goldenFile)
		if update {
			if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(want, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		w, err := os.ReadFile(want)
		if err != nil {
			t.Fatalf("%v (run with FLEET_UPDATE=1 to create it)", err)
		}
		if !bytes.Equal(b, w) {
			t.Errorf("%s differs from %s (FLEET_UPDATE=1 rewrites it):\n%s", filepath.Base(got), want, lineDiff(string(w), string(b)))
		}
	}
	for _, name := range sortedKeys(golden) {
		t.Run(name, func(t *testing.T) {
			check(t, filepath.Join(res.OutDir, "hosts", name+".nix"), name+".nix")
			if name == "desktop" {
				check(t, filepath.Join(res.OutDir, "users", "alice", name+".nix"), name+".home.nix")
			}
		})
	}
}

// lineDiff shows the lines only one side has, marked - (want) and + (got).
func lineDiff(want, got string) string {
	w, g := map[string]int{}, map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		w[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		g[l]++
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if w[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
