package fleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nix/syntax"
	"fleetnix.dev/fleet/internal/nixos"
)

// vetFleet writes a fleet without Nix inputs of its own but home-manager:
// a clean host, and a host with a typo of an option and a bad enum value
// in its free-form nixos.
func vetFleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, vetFleetFiles(`
hosts: good: {
	template:     "server"
	stateVersion: "25.05"
	users: alice: {}
}

hosts: typo: {
	template:     "server"
	stateVersion: "25.05"
	nixos: services: opensh: enable: true
	nixos: services: openssh: settings: PermitRootLogin: {$force: "maybe"}
}
`))
	return dir
}

// vetFleetFiles returns the files of a fleet without Nix inputs of its
// own but home-manager, with a user alice and a template server, and the
// CUE hosts in hosts.cue.
func vetFleetFiles(hosts string) map[string]string {
	return map[string]string{
		"cue.mod/module.cue": "module: \"example.test/fleet@v0\"\nlanguage: version: \"v0.17.0\"\n",
		"fleet.cue": `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

settings: inputs: "home-manager": {url: "github:nix-community/home-manager/release-25.05", nixosModules: "nixosModules.home-manager": true}
`,
		"hosts.cue": `package fleet

users: alice: {
	groups: wheel: true
	sshKeys: laptop: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000001 alice@laptop"
}

templates: server: {
	hardware: {
		fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}
		fileSystems: "/boot": {device: "/dev/sda2", fsType: "vfat"}
		boot: loader: "systemd-boot"
	}
	deploy: {targetHost: "192.0.2.1", targetUser: "alice"}
}
` + hosts,
	}
}

// TestVetNixOS checks the manifest's check of a fleet at the user's
// lines, and that a host found clean is remembered in the cache while a
// host with findings is checked again on every run.
func TestVetNixOS(t *testing.T) {
	dir := vetFleet(t)
	cache := t.TempDir()
	hosts := filepath.Join(dir, "hosts.cue")
	for run := 0; run < 2; run++ {
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		warns, err := f.VetNixOS()
		var errs Errors
		if len(warns) != 0 || err == nil || !errors.As(err, &errs) || len(errs) != 2 {
			t.Fatalf("run %d: warnings %v, error %v; want two errors", run, warns, err)
		}
		line, col := lineOf(t, hosts, "opensh: enable")
		if d := errs[0]; d.Pos.File != hosts || d.Pos.Line != line || d.Pos.Column != col ||
			d.Summary != "hosts.typo.nixos.services.opensh: no such option in NixOS nixos-25.05" || d.Detail != "did you mean services.openssh?" {
			t.Errorf("run %d: %v: %s (%s)", run, d.Pos, d.Summary, d.Detail)
		}
		if d := errs[1]; d.Pos.Line != line+1 || !strings.Contains(d.Summary, `PermitRootLogin: "maybe" is not a value`) {
			t.Errorf("run %d: %v: %s", run, d.Pos, d.Summary)
		}
		marks, _ := filepath.Glob(filepath.Join(cache, "*", vetCacheKind+"-*"))
		if len(marks) != 1 {
			t.Errorf("run %d: %d hosts remembered clean, want 1 (good)", run, len(marks))
		}
	}
	// Without the cache, the same.
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.VetNixOS(); err == nil {
		t.Error("no error without the cache")
	}
	if _, err := os.Stat(filepath.Join(dir, "nix")); !os.IsNotExist(err) {
		t.Errorf("vet wrote the tree: %v", err)
	}
}

// TestVetTreesAsWritten checks that what VetNixOS checks, the modules'
// syntax trees before printing, finds what checking the files Generate
// writes finds: the same findings, by option path, code and summary, on
// a fleet with mistakes and on the reference fleet.
func TestVetTreesAsWritten(t *testing.T) {
	m, err := nixos.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{vetFleet(t), ".."} {
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
		if err != nil {
			t.Fatal(err)
		}
		ef, _, err := f.emitFleet("", nil)
		if err != nil {
			t.Fatal(err)
		}
		mods, err := emit.Modules(ef)
		if err != nil {
			t.Fatal(err)
		}
		files, _, err := f.files("")
		if err != nil {
			t.Fatal(err)
		}
		written := map[string][]byte{}
		for _, fl := range files {
			written[fl.Path] = fl.Data
		}
		summary := func(ds diag.List) string {
			var out []string
			for _, d := range ds {
				out = append(out, strings.Join(d.Path, ".")+" "+d.Code+" "+d.Summary)
			}
			sort.Strings(out)
			return strings.Join(out, "\n")
		}
		n := 0
		for _, mod := range mods {
			kind, ok := nixos.KindOf(mod.Path)
			if !ok || mod.Expr == nil {
				continue
			}
			parsed, errs := syntax.Parse(mod.Path, written[mod.Path])
			if len(errs) > 0 || written[mod.Path] == nil {
				t.Fatalf("%s: not written, or does not parse: %v", mod.Path, errs)
			}
			tree := m.Check(syntax.NewFile(mod.Expr), kind, nixos.Options{})
			file := m.Check(parsed, kind, nixos.Options{})
			if a, b := summary(tree), summary(file); a != b {
				t.Errorf("%s: the tree's findings\n%s\ndiffer from the written file's\n%s", mod.Path, a, b)
			}
			n += len(file)
		}
		if dir != ".." && n == 0 {
			t.Errorf("%s: no findings to compare", dir)
		}
	}
}
