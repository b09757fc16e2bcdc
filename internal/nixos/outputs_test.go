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
	if err := fleet.Init(dir); err != nil {
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
