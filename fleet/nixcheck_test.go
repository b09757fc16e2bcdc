package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/fleettest"
	"fleetnix.dev/fleet/internal/nixerr"
)

// checkFleet writes a fleet whose flake inputs are the miniature nixpkgs
// and returns its directory. Hosts: good evaluates; typo sets an option
// NixOS does not have; devbox wants a package nixpkgs lacks.
func checkFleet(t *testing.T) string {
	t.Helper()
	mini := strconv.Quote("path:" + fleettest.MiniNixpkgs(t))
	dir := t.TempDir()
	files := map[string]string{
		"cue.mod/module.cue": "module: \"example.test/fleet@v0\"\nlanguage: version: \"v0.17.0\"\n",
		"fleet.cue": `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

settings: inputs: {
	nixpkgs: url: ` + mini + `
	"home-manager": {url: ` + mini + `, nixosModules: "nixosModules.home-manager": true}
}
`,
		"hosts.cue": `package fleet

users: alice: {
	groups: wheel: true
	sshKeys: laptop: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000001 alice@laptop"
}

profiles: dev: home: git: {enable: true, userName: "Alice"}

templates: server: {
	hardware: {
		fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}
		fileSystems: "/boot": {device: "/dev/sda2", fsType: "vfat"}
		boot: loader: "systemd-boot"
	}
	deploy: targetHost: "192.0.2.1"
}

hosts: good: {
	template:     "server"
	stateVersion: "25.05"
	users: alice: profiles: ["dev"]
}

hosts: typo: {
	template:     "server"
	stateVersion: "25.05"
	nixos: services: opensh: enable: true
}

hosts: devbox: {
	template:     "server"
	stateVersion: "25.05"
	features: development: {enable: true, tools: copilotCli: true}
}
`,
	}
	writeTree(t, dir, files)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	return dir
}

// writeTree writes files (slash-separated paths to contents) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lineOf returns the 1-based line and column of the first occurrence of
// s in file.
func lineOf(t *testing.T, file, s string) (int, int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if c := strings.Index(l, s); c >= 0 {
			return i + 1, c + 1
		}
	}
	t.Fatalf("%q not in %s", s, file)
	return 0, 0
}

func TestCheck(t *testing.T) {
	fleettest.RequireNix(t)
	dir := checkFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Check(context.Background(), CheckOptions{Hosts: []string{"good", "typo"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.LockCreated || !res.Failed() || len(res.Hosts) != 2 {
		t.Fatalf("LockCreated %v, Failed %v, %d hosts; want a new lock, a failure, 2 hosts", res.LockCreated, res.Failed(), len(res.Hosts))
	}
	good, typo := res.Hosts[0], res.Hosts[1]
	if good.Host != "good" || !strings.HasSuffix(good.Toplevel, "-nixos-system-good-25.05.drv") ||
		!strings.HasSuffix(good.Homes["alice"], "-home-manager-generation.drv") || len(good.Problems) != 0 {
		t.Errorf("good = %+v, want its system's and alice's home's derivations, no problems", good)
	}
	if typo.Toplevel != "" || len(typo.Problems) != 1 {
		t.Fatalf("typo = %+v, want no derivation and one problem", typo)
	}
	d := typo.Problems[0]
	hosts := filepath.Join(dir, "hosts.cue")
	line, col := lineOf(t, hosts, "opensh: enable")
	col += len("opensh: ")
	if d.Severity != Error || d.Pos.File != hosts || d.Pos.Line != line || d.Pos.Column != col {
		t.Errorf("problem at %v %v, want an error at %s:%d:%d", d.Severity, d.Pos, hosts, line, col)
	}
	if !strings.Contains(d.Summary, "services.opensh is not an option") || !strings.Contains(d.Detail, "NixOS: The option `services.opensh' does not exist.") {
		t.Errorf("summary %q, detail %q", d.Summary, d.Detail)
	}
	if len(d.Related) != 1 || d.Related[0].Pos.File != filepath.Join(dir, "nix", "hosts", "typo.nix") {
		t.Errorf("related %+v, want the generated line in nix/hosts/typo.nix", d.Related)
	}

	// The lock is the fleet's now: a second run keeps it.
	res, err = f.Check(context.Background(), CheckOptions{Hosts: []string{"good"}})
	if err != nil || res.LockCreated || res.Failed() {
		t.Errorf("second run: LockCreated %v, Failed %v, err %v", res.LockCreated, res.Failed(), err)
	}
}

// TestBuildNixProblems checks that Build reports a host's evaluation
// failure of the generated flake at the user's CUE, as Check does.
func TestBuildNixProblems(t *testing.T) {
	fleettest.RequireNix(t)
	dir := checkFleet(t)
	// Build generates the tree first, which VetNixOS refuses for typo's
	// free-form option before anything is built: leave typo out.
	hosts := filepath.Join(dir, "hosts.cue")
	src, err := os.ReadFile(hosts)
	if err != nil {
		t.Fatal(err)
	}
	typo := "hosts: typo: {\n\ttemplate:     \"server\"\n\tstateVersion: \"25.05\"\n\tnixos: services: opensh: enable: true\n}\n"
	if !bytes.Contains(src, []byte(typo)) {
		t.Fatal("the check fleet has no host typo to leave out")
	}
	if err := os.WriteFile(hosts, bytes.Replace(src, []byte(typo), nil, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := f.Build(context.Background(), BuildOptions{DriverOptions: DriverOptions{Hosts: []string{"devbox"}, NixArgs: fleettest.NixArgs()[2:]}})
	if err != nil {
		t.Fatal(err)
	}
	he, ok := rs[0].Err.(*HostError)
	if !ok || len(he.Problems) != 1 {
		t.Fatalf("result %+v, want a HostError with one problem", rs[0])
	}
	d := he.Problems[0]
	// The package is put at the feature's enable: the source map's choice
	// of field inside a feature goes by names, and "gh-copilot" does not
	// name copilotCli.
	line, col := lineOf(t, filepath.Join(dir, "hosts.cue"), "enable: true, tools: copilotCli")
	col += len("enable: ")
	if d.Pos.Line != line || d.Pos.Column != col || !strings.Contains(d.Summary, `package "gh-copilot" is not in this nixpkgs`) {
		t.Errorf("problem %s: %s, want it at line %d, column %d", d.Pos, d.Summary, line, col)
	}
}

// TestSourceMapReference checks the source map of the reference fleet:
// every value of every host's and home's module has an origin in the
// user's files, never in the schema, and the computed values named below
// are put at the fields that cause them.
func TestSourceMapReference(t *testing.T) {
	f, err := Load(context.Background(), &Config{Dir: "..", NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sourceMapOf(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := file.Path
		if !strings.HasPrefix(name, "hosts/") && !strings.HasPrefix(name, "users/") {
			continue
		}
		es := m.Entries(name)
		if len(es) == 0 {
			t.Errorf("the source map has no entries for %s", name)
		}
		for _, e := range es {
			o, ok := m.OriginOf(e)
			if !ok {
				t.Errorf("%s:%d: %s has no origin", name, e.Line, e.At)
				continue
			}
			if strings.HasPrefix(o.File, "cue.mod/") {
				t.Errorf("%s:%d: %s has its origin in the schema: %+v", name, e.Line, e.At, o)
			}
		}
	}
	for _, c := range []struct {
		file, at string
		kind     emit.Part
		path     string
	}{
		{"hosts/p510.nix", "networking.domain", emit.PartComputed, "hosts.p510.network.domain"},
		{"hosts/p510.nix", "services.ollama.port", emit.PartComputed, "hosts.p510.features.ai.ollama.enable"},
		{"hosts/p510.nix", "fileSystems.\"/home\".device", emit.PartComputed, "hosts.p510.hardware.fileSystems.\"/home\".device"},
		{"hosts/p510.nix", "users.users.olafkfreund.uid", emit.PartComputed, "hosts.p510.users.olafkfreund.uid"},
		{"hosts/p510.nix", "nix.settings.extra-trusted-public-keys[1]", emit.PartFleet, "hosts.p620.nix.serve.publicKey"},
		{"hosts/p510.nix", "age.secrets.nzbget-password.mode", emit.PartGenerated, "secrets.nzbget-password"},
		{"users/olafkfreund/p510.nix", "programs.git.userEmail", emit.PartHome, "hosts.p510.users.olafkfreund.home.git.userEmail"},
		{"flake.nix", "inputs.nixpkgs.url", emit.PartFile, "settings.inputs.nixpkgs"},
	} {
		var found bool
		for _, e := range m.Entries(c.file) {
			if e.At != c.at {
				continue
			}
			found = true
			o, _ := m.OriginOf(e)
			if e.Kind != c.kind || o.Path != c.path {
				t.Errorf("%s %s: %s from %s (%s:%d), want %s from %s", c.file, c.at, e.Kind, o.Path, o.File, o.Line, c.kind, c.path)
			}
		}
		if !found {
			t.Errorf("%s has no entry %s", c.file, c.at)
		}
	}
}

// TestPlaceHomeOption checks where a problem of a home-manager option is
// put: NixOS names the host's module (which imports the user's home
// module) for it, and the option by its full path.
func TestPlaceHomeOption(t *testing.T) {
	dir := checkFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	files, outDir, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sourceMapOf(files)
	if err != nil {
		t.Fatal(err)
	}
	pl := &placer{f: f, m: m, outDir: outDir}
	stderr := "error: A definition for option `home-manager.users.alice.programs.git.userName' is not of type `string'. Definition values:\n" +
		"       - In `/nix/store/00000000000000000000000000000000-source/hosts/good.nix': 1\n"
	ds := f.NixProblems(outDir, "good", stderr)
	if len(ds) != 0 {
		t.Fatalf("NixProblems without a tree on disk = %v, want none", ds)
	}
	var probs Errors
	for _, p := range nixerr.Parse(stderr) {
		probs = append(probs, pl.place(f.Host("good"), p)...)
	}
	line, col := lineOf(t, filepath.Join(dir, "hosts.cue"), `userName: "Alice"`)
	col += len("userName: ")
	if len(probs) != 1 || probs[0].Pos.Line != line || probs[0].Pos.Column != col ||
		len(probs[0].Related) != 1 || !strings.HasSuffix(probs[0].Related[0].Pos.File, filepath.Join("users", "alice", "good.nix")) {
		t.Errorf("problems %+v, want one at %d:%d generated in users/alice/good.nix", probs, line, col)
	}
}

func TestCheckWithoutNix(t *testing.T) {
	dir := checkFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = f.Check(context.Background(), CheckOptions{})
	if err == nil || !strings.Contains(err.Error(), "nix is not installed") {
		t.Errorf("Check without nix = %v, want it to say nix is not installed", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nix")); err == nil {
		t.Error("Check without nix wrote the tree")
	}
}
