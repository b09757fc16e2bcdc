package nixos

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// rawIndexRead is what the sync expression returns for a small
// configuration, written by hand in its format: options of every kind of
// type, an alias, a removed option, home-manager's users, a MicroVM's
// configuration, and three packages.
const rawIndexRead = `{
  "inputs": {"nixpkgs": "/nix/store/00000000000000000000000000000000-source", "home-manager": "/nix/store/11111111111111111111111111111111-source"},
  "top": ["git", "ripgrep", "hello"],
  "packages": [{"s": "ok"}, {"s": "missing", "i": 1, "n": ["requests", "numpy"]}, {"s": "missing", "i": 0}],
  "options": [
    {"p": ["services", "openssh", "enable"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/services/networking/ssh/sshd.nix", "t": {"n": "bool"}},
    {"p": ["services", "openssh", "ports"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/services/networking/ssh/sshd.nix", "t": {"n": "listOf", "e": {"n": "unsignedInt16", "d": "16 bit unsigned integer; between 0 and 65535 (both inclusive)"}}},
    {"p": ["services", "openssh", "settings"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/services/networking/ssh/sshd.nix", "t": {"n": "submodule", "f": {"n": "attrsOf", "e": {"n": "nullOr", "e": {"n": "either", "l": {"n": "str"}, "r": {"n": "int"}}}}}},
    {"p": ["services", "openssh", "settings", "PermitRootLogin"], "tr": "nixos", "d": "<unknown-file>", "t": {"n": "enum", "v": ["yes", "no"], "vk": true}},
    {"p": ["services", "openssh", "permitRootLogin"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/services/networking/ssh/sshd.nix", "a": "Alias of {option}` + "`" + `services.openssh.settings.PermitRootLogin` + "`" + `."},
    {"p": ["services", "openssh", "challengeResponseAuthentication"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/services/networking/ssh/sshd.nix", "rm": true},
    {"p": ["networking", "hostName"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/tasks/network-interfaces.nix", "t": {"n": "strMatching \"^$|^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$\""}},
    {"p": ["users", "users"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/config/users-groups.nix", "t": {"n": "attrsOf", "e": {"n": "submodule"}}},
    {"p": ["users", "users", "<user>", "uid"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/config/users-groups.nix", "t": {"n": "nullOr", "e": {"n": "int"}}},
    {"p": ["users", "users", "<name>", "shell"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/config/users-groups.nix", "t": {"n": "nullOr", "e": {"n": "either", "l": {"n": "shellPackage"}, "r": {"n": "path"}}}},
    {"p": ["security", "sudo", "extraRules"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/security/sudo.nix", "t": {"n": "listOf", "e": {"n": "submodule"}}},
    {"p": ["security", "sudo", "extraRules", "*", "commands"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/security/sudo.nix", "t": {"n": "listOf", "e": {"n": "either", "l": {"n": "str"}, "r": {"n": "submodule"}}}},
    {"p": ["virtualisation", "vmVariant"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/virtualisation/build-vm.nix", "t": {"n": "submodule"}, "sh": true},
    {"p": ["fileSystems"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/tasks/filesystems.nix", "t": {"n": "coercedTo", "c": {"n": "listOf", "e": {"n": "unspecified"}}, "fi": {"n": "attrsOf", "e": {"n": "submodule"}}}},
    {"p": ["fileSystems", "<name>", "fsType"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/tasks/filesystems.nix", "t": {"n": "str"}},
    {"p": ["environment", "systemPackages"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/config/system-path.nix", "t": {"n": "listOf", "e": {"n": "package"}}},
    {"p": ["boot", "kernel", "sysctl"], "tr": "nixos", "d": "/nix/store/00000000000000000000000000000000-source/nixos/modules/config/sysctl.nix", "t": {"n": "functionTo", "e": {"n": "str"}}},
    {"p": ["home-manager", "users"], "tr": "nixos", "d": "/nix/store/11111111111111111111111111111111-source/nixos/common.nix", "m": true},
    {"p": ["home-manager", "users", "<name>", "programs", "git", "enable"], "tr": "home-manager", "d": "/nix/store/11111111111111111111111111111111-source/modules/programs/git.nix", "t": {"n": "bool"}},
    {"p": ["home-manager", "users", "<name>", "programs", "git", "userName"], "tr": "home-manager", "d": "/nix/store/11111111111111111111111111111111-source/modules/programs/git.nix", "a": "Alias of {option}` + "`" + `programs.git.settings.user.name` + "`" + `."},
    {"p": ["home-manager", "users", "<name>", "programs", "git", "settings"], "tr": "home-manager", "d": "/nix/store/11111111111111111111111111111111-source/modules/programs/git.nix", "t": {"n": "attrsOf", "e": {"n": "anything"}}},
    {"p": ["services", "openssh", "enable"], "tr": "nixos", "d": "/elsewhere/sshd.nix", "t": {"n": "str"}}
  ]
}`

const rawRemoved = `["The option definition ` + "`" + `services.openssh.challengeResponseAuthentication' in  no longer has any effect; please remove it.\nUse services.openssh.settings.KbdInteractiveAuthentication\ninstead.\n", "Another assertion"]`

func testIndex(t *testing.T) *Manifest {
	t.Helper()
	base, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	args := SyncArgsFor(base, "x86_64-linux", []string{"home-manager.nixosModules.home-manager"},
		[]string{"git", "rg", "python3Packages.request", "git"})
	ix := Index{System: "x86_64-linux", Modules: []string{"home-manager.nixosModules.home-manager"}, Inputs: map[string]Locked{
		"nixpkgs":      {URL: "github:NixOS/nixpkgs/nixos-25.05", Rev: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", NarHash: "sha256-AAAA"},
		"home-manager": {URL: "github:nix-community/home-manager/release-25.05", Rev: "44831a7e00000000000000000000000000000000", NarHash: "sha256-BBBB"},
	}}
	m, err := BuildIndex(base, ix, args, []byte(rawIndexRead), []byte(rawRemoved))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBuildIndex checks the conversion of what Nix read into an index:
// paths relative to their tree with placeholders as <name>, types in the
// manifest's format, aliases and removals, declaring files per input,
// packages with suggestions; and that the index round-trips through
// Marshal and ParseIndex to the same bytes.
func TestBuildIndex(t *testing.T) {
	m := testIndex(t)
	want := map[string]string{
		"nixos environment.systemPackages":                       `{"kind":"listOf","of":{"kind":"package"}}`,
		"nixos security.sudo.extraRules":                         `{"kind":"listOf","of":{"kind":"submodule"}}`,
		"nixos services.openssh.enable":                          `{"kind":"bool"}`,
		"nixos services.openssh.ports":                           `{"kind":"listOf","of":{"kind":"ints.between","min":0,"max":65535}}`,
		"nixos services.openssh.settings":                        `{"kind":"submodule","freeform":{"kind":"attrsOf","of":{"kind":"nullOr","of":{"kind":"either","of":[{"kind":"str"},{"kind":"int"}]}}}}`,
		"nixos services.openssh.settings.PermitRootLogin":        `{"kind":"enum","values":["yes","no"]}`,
		"nixos networking.hostName":                              `{"kind":"strMatching","pattern":"^$|^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"}`,
		"nixos users.users":                                      `{"kind":"attrsOf","of":{"kind":"submodule"}}`,
		"nixos users.users.<name>.uid":                           `{"kind":"nullOr","of":{"kind":"int"}}`,
		"nixos users.users.<name>.shell":                         `{"kind":"nullOr","of":{"kind":"either","of":[{"kind":"package"},{"kind":"path"}]}}`,
		"nixos security.sudo.extraRules.*.commands":              `{"kind":"listOf","of":{"kind":"either","of":[{"kind":"str"},{"kind":"attrs"}]}}`,
		"nixos virtualisation.vmVariant":                         `{"kind":"attrs"}`,
		"nixos fileSystems":                                      `{"kind":"either","of":[{"kind":"attrsOf","of":{"kind":"submodule"}},{"kind":"listOf","of":{"kind":"unspecified"}}]}`,
		"nixos boot.kernel.sysctl":                               `{"kind":"unspecified"}`,
		"nixos home-manager.users":                               `{"kind":"attrsOf","of":{"kind":"module","tree":"home-manager"}}`,
		"home-manager programs.git.enable":                       `{"kind":"bool"}`,
		"home-manager programs.git.settings":                     `{"kind":"attrsOf","of":{"kind":"anything"}}`,
		"nixos services.openssh.permitRootLogin":                 `renamed to services.openssh.settings.PermitRootLogin`,
		"home-manager programs.git.userName":                     `renamed to programs.git.settings.user.name`,
		"nixos services.openssh.challengeResponseAuthentication": `removed: Use services.openssh.settings.KbdInteractiveAuthentication instead.`,
	}
	got := map[string]string{}
	for _, o := range m.Options {
		k := o.Tree + " " + o.Path
		switch {
		case o.RenamedTo != "":
			got[k] = "renamed to " + o.RenamedTo
		case o.Removed:
			got[k] = "removed: " + o.Instead
		default:
			b, err := json.Marshal(o.Type)
			if err != nil {
				t.Fatal(err)
			}
			got[k] = string(b)
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "nixos fileSystems.<name>.fsType" {
			t.Errorf("unexpected option %s: %s", k, got[k])
		}
	}
	// The first read of a path wins; declaring files are per input, and
	// an option of an inline submodule gets the file of the option above.
	for _, c := range []struct{ tree, path, from, declared string }{
		{"nixos", "services.openssh.enable", "nixpkgs", "nixos/modules/services/networking/ssh/sshd.nix"},
		{"nixos", "services.openssh.settings.PermitRootLogin", "nixpkgs", "nixos/modules/services/networking/ssh/sshd.nix"},
		{"home-manager", "programs.git.enable", "home-manager", "modules/programs/git.nix"},
	} {
		names, _ := SplitPath(c.path)
		o := m.Option(c.tree, names)
		if o == nil || o.From != c.from || o.Declared != c.declared {
			t.Errorf("%s %s: %+v, want from %s, declared %s", c.tree, c.path, o, c.from, c.declared)
		}
	}
	var pkgs []string
	for _, p := range m.Packages {
		pkgs = append(pkgs, p.Attr+" missing="+map[bool]string{true: "yes", false: "no"}[p.Missing]+" suggest="+p.Suggest)
	}
	if w := "git missing=no suggest=|python3Packages.request missing=yes suggest=python3Packages.requests|rg missing=yes suggest="; strings.Join(pkgs, "|") != w {
		t.Errorf("packages %q, want %q", strings.Join(pkgs, "|"), w)
	}

	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := Embedded()
	again, err := ParseIndex(out, base)
	if err != nil {
		t.Fatalf("the index does not parse: %v\n%s", err, out)
	}
	again.Defines = nil // ParseIndex adds the manifest's
	out2, err := again.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Errorf("the index does not round-trip:\n%s\n---\n%s", out, out2)
	}
	// An index leaves out the usual tree and source, and a declaring file
	// the entry before has.
	if bytes.Contains(out, []byte(`"tree":"nixos"`)) || bytes.Contains(out, []byte(`"from":"nixpkgs"`)) ||
		bytes.Count(out, []byte(`"declared":"nixos/modules/services/networking/ssh/sshd.nix"`)) != 1 {
		t.Errorf("the index repeats what it may leave out:\n%s", out)
	}
}

// TestCheckIndex checks a module against an index: every path it lacks
// is unknown, aliases warn and are checked as their target, removed
// options are errors with nixpkgs' instructions, missing packages are
// errors with the closest name, and packages the index was read without
// are warnings.
func TestCheckIndex(t *testing.T) {
	m := testIndex(t)
	src := `{ pkgs, ... }: {
  services.openssh.permitRootLogin = "maybe";
  services.openssh.challengeResponseAuthentication = false;
  services.openssh.settings.MaxAuthTries = 3;
  services.nginx.enable = true;
  users.users.alice = { uid = 1000; shell = pkgs.zsh; };
  environment.systemPackages = [ pkgs.git pkgs.python3Packages.request pkgs.rg ];
  virtualisation.vmVariant.virtualisation.memorySize = 2048;
  security.sudo.extraRules = [ { commands = [ { command = "ALL"; options = [ "NOPASSWD" ]; } ]; } ];
}
`
	f, errs := syntax.Parse("test.nix", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := render(m.Check(f, NixOSModule, Options{}))
	for _, want := range []string{
		"test.nix:2:3: services.openssh.permitRootLogin was renamed to services.openssh.settings.PermitRootLogin [nixos-renamed-option]",
		`test.nix:2:38: services.openssh.permitRootLogin: "maybe" is not a value of type one of "yes", "no" [nixos-bad-value]`,
		"test.nix:3:3: services.openssh.challengeResponseAuthentication: the option was removed from the locked nixpkgs (1a2b3c4) [nixos-removed-option]",
		"\tUse services.openssh.settings.KbdInteractiveAuthentication instead.",
		"test.nix:5:3: services.nginx: no such option in the locked nixpkgs (1a2b3c4) [nixos-unknown-option]",
		"test.nix:6:45: pkgs.zsh: the option index does not know the package",
		"test.nix:7:43: pkgs.python3Packages.request: no such package in the locked nixpkgs (1a2b3c4) [nixos-unknown-package] path=environment.systemPackages.1",
		"\tdid you mean pkgs.python3Packages.requests?",
		"test.nix:7:72: pkgs.rg: no such package",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if n := strings.Count(got, "[nixos-"); n != 7 {
		t.Errorf("%d findings, want 7:\n%s", n, got)
	}
	for _, d := range m.Check(f, NixOSModule, Options{}) {
		if sev := map[string]diag.Severity{CodeRenamedOption: diag.Warning, CodeUnindexedPackage: diag.Warning}[d.Code]; sev != 0 && d.Severity != sev {
			t.Errorf("%s is %v, want a warning", d.Summary, d.Severity)
		}
	}
}

// TestTyposOnly checks the check against a manifest that lists only part
// of the surface: paths and packages it lacks are reported only when
// they are one edit from a name it lists, values of the options it lists
// are checked all the same.
func TestTyposOnly(t *testing.T) {
	got := render(check(t, `{ pkgs, ... }: {
  services.opensh.enable = true;
  services.nginx.enable = true;
  services.openssh.setings.X = 1;
  services.openssh.settings.PermitRootLogin = "maybe";
  programs.ssh.startAgent = true;
  environment.systemPackages = [ pkgs.hello pkgs.nixfmt-rfc-styl pkgs.gi ];
}
`, NixOSModule, Options{TyposOnly: true}))
	for _, want := range []string{
		"test.nix:2:3: services.opensh: no such option in NixOS nixos-25.05 [nixos-unknown-option]",
		"\tdid you mean services.openssh?",
		"test.nix:4:3: services.openssh.setings: no such option",
		`test.nix:5:47: services.openssh.settings.PermitRootLogin: "maybe" is not a value`,
		"test.nix:7:45: pkgs.nixfmt-rfc-styl: no such package",
		"\tdid you mean pkgs.nixfmt-rfc-style?",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	for _, not := range []string{"nginx", "programs.ssh", "pkgs.hello", "pkgs.gi:"} {
		if strings.Contains(got, not) {
			t.Errorf("%s reported:\n%s", not, got)
		}
	}
}

// TestLockedInputs reads a flake lock file's root inputs, and Stale
// compares them with an index's.
func TestLockedInputs(t *testing.T) {
	lock := []byte(`{
  "nodes": {
    "agenix": {"inputs": {"nixpkgs": ["nixpkgs"]}, "locked": {"lastModified": 1, "narHash": "sha256-A", "owner": "ryantm", "repo": "agenix", "rev": "b027ee29", "type": "github"}, "original": {"owner": "ryantm", "repo": "agenix", "type": "github"}},
    "nixpkgs": {"locked": {"lastModified": 2, "narHash": "sha256-N", "path": "/x", "type": "path"}, "original": {"path": "/x", "type": "path"}},
    "root": {"inputs": {"agenix": "agenix", "nixpkgs": "nixpkgs"}}
  },
  "root": "root",
  "version": 7
}`)
	got, err := LockedInputs(lock, map[string]string{"agenix": "github:ryantm/agenix", "nixpkgs": "path:/x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Locked{
		"agenix":  {URL: "github:ryantm/agenix", Rev: "b027ee29", NarHash: "sha256-A", LastModified: 1},
		"nixpkgs": {URL: "path:/x", NarHash: "sha256-N", LastModified: 2},
	}
	if len(got) != len(want) || got["agenix"] != want["agenix"] || got["nixpkgs"] != want["nixpkgs"] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	ix := Index{Inputs: want}
	if s := ix.Stale(got); s != nil {
		t.Errorf("the same inputs are stale: %v", s)
	}
	now := map[string]Locked{"nixpkgs": {URL: "path:/x", NarHash: "sha256-M"}, "disko": {NarHash: "sha256-D"}}
	if s := strings.Join(ix.Stale(now), "; "); s != "agenix: no longer an input; nixpkgs: read at N, now locked at M; disko: a new input" {
		t.Errorf("stale: %s", s)
	}
	if _, err := LockedInputs([]byte(`{"nodes": {"root": {"inputs": {"a": "a"}}, "a": {}}, "root": "root"}`), nil); err == nil {
		t.Error("an input without a lock was read")
	}
}

// TestSyncExpr checks that the expression sync evaluates parses as Nix
// 2.8 reads it, and that the data reach it only through its environment.
func TestSyncExpr(t *testing.T) {
	if _, errs := syntax.Parse("sync.nix", []byte(SyncExpr)); len(errs) > 0 {
		t.Fatalf("SyncExpr does not parse: %v", errs)
	}
	base, _ := Embedded()
	args := SyncArgsFor(base, "x86_64-linux", []string{"agenix.nixosModules.default"}, []string{`a"b`})
	env, err := SyncEnv(`path:/f"lake`, args, "options")
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 2 || env[0] != `FLEET_SYNC_FLAKE=path:/f"lake` || !strings.HasPrefix(env[1], `FLEET_SYNC_ARGS={"part":"options","system":"x86_64-linux","imports":[["agenix","nixosModules","default"]]`) {
		t.Errorf("env %q", env)
	}
	if strings.Contains(SyncExpr, "FLEET_SYNC_ARGS=") {
		t.Error("data in the expression")
	}
	var mods []string
	for _, m := range args.Modules {
		mods = append(mods, JoinPath(m.Path)+" "+m.Tree+" "+strings.Join(m.Roots, ","))
	}
	if w := "home-manager.users home-manager |microvm.vms.<name>.config microvm-guest microvm"; strings.Join(mods, "|") != w {
		t.Errorf("modules %q, want %q", strings.Join(mods, "|"), w)
	}
}

func TestPackagesIn(t *testing.T) {
	f, errs := syntax.Parse("m.nix", []byte(`{ pkgs, inputs, ... }: { a = [ pkgs.git pkgs.python3Packages.requests (pkgs.writeShellScriptBin "x" "y") pkgs.${"dyn"} pkgs.git ]; b = inputs.x.packages.${pkgs.stdenv.hostPlatform.system}.y; }`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := strings.Join(PackagesIn(f.Expr), " "); got != "git python3Packages.requests stdenv.hostPlatform.system writeShellScriptBin" {
		t.Errorf("got %s", got)
	}
}
