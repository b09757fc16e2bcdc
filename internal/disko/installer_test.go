package disko

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var testKeys = []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetAdminKeyForTestsOnly000000000000000 admin@fleet"}

func TestInstaller(t *testing.T) {
	got, err := Installer(InstallerOptions{Host: "p620", AuthorizedKeys: testKeys, Loader: "systemd-boot", EFIVariables: true})
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/installer.nix"
	if os.Getenv("FLEET_UPDATE") != "" {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (FLEET_UPDATE=1 writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s:\n%s", golden, got)
	}
	if _, errs := syntax.Parse(golden, got); len(errs) > 0 {
		t.Errorf("does not parse: %v", errs)
	}
	if again, err := format.Source(got); err != nil || !bytes.Equal(again, got) {
		t.Errorf("not stable under formatting: %v", err)
	}
	for _, o := range []InstallerOptions{{Host: "p620"}, {Host: "P 620", AuthorizedKeys: testKeys}, {Host: "p620", AuthorizedKeys: []string{"hunter2"}}, {Host: "p620", AuthorizedKeys: testKeys, Loader: "lilo"}} {
		if _, err := Installer(o); err == nil {
			t.Errorf("Installer(%+v) gave no error", o)
		}
	}
}

// TestInstallerEvaluates evaluates the installer module with stub
// arguments: a host whose build outputs are store paths, and a pkgs whose
// writeShellScriptBin returns its arguments.
func TestInstallerEvaluates(t *testing.T) {
	nix := needNix(t)
	for _, tc := range []struct {
		opts InstallerOptions
		text string
	}{
		{InstallerOptions{Host: "p620", AuthorizedKeys: testKeys, Loader: "systemd-boot", EFIVariables: true},
			"set -eu\nif [ ! -d /sys/firmware/efi ]; then\n  echo 'p620 boots by UEFI (systemd-boot) and its installation writes the firmware boot entries: boot this installer in UEFI mode, not legacy BIOS.' >&2\n  exit 1\nfi\n/nix/store/aaaa-disko-p620\nnixos-install --no-root-passwd --no-channel-copy --system /nix/store/bbbb-nixos-system-p620\necho 'p620 is installed with boot loader systemd-boot; reboot into it.'\n"},
		{InstallerOptions{Host: "p620", AuthorizedKeys: testKeys, Loader: "grub"},
			"set -eu\n/nix/store/aaaa-disko-p620\nnixos-install --no-root-passwd --no-channel-copy --system /nix/store/bbbb-nixos-system-p620\necho 'p620 is installed with boot loader grub; reboot into it.'\n"},
		{InstallerOptions{Host: "p620", AuthorizedKeys: testKeys},
			"set -eu\n/nix/store/aaaa-disko-p620\nnixos-install --no-root-passwd --no-channel-copy --system /nix/store/bbbb-nixos-system-p620\necho 'p620 is installed without a boot loader (it has none): something else must boot it.'\n"},
	} {
		name := tc.opts.Loader
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) { installerEvaluates(t, nix, tc.opts, tc.text) })
	}
}

func installerEvaluates(t *testing.T, nix string, opts InstallerOptions, text string) {
	src, err := Installer(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "installer.nix"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	const stubs = `import ./installer.nix {
  lib.mkForce = x: { _force = x; };
  pkgs.writeShellScriptBin = name: text: { inherit name text; };
  modulesPath = "/stub/nixos/modules";
  host.config.system.build = { diskoScript = "/nix/store/aaaa-disko-p620"; toplevel = "/nix/store/bbbb-nixos-system-p620"; };
  host.config.nixpkgs.hostPlatform = { system = "x86_64-linux"; isLinux = true; };
}`
	if err := os.WriteFile(filepath.Join(dir, "eval.nix"), []byte(stubs), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(nix, "--eval", "--strict", "--json", filepath.Join(dir, "eval.nix"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.Bytes())
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	keys := []any{testKeys[0]}
	want := map[string]any{
		"imports":    []any{"/stub/nixos/modules/installer/cd-dvd/installation-cd-minimal.nix"},
		"networking": map[string]any{"hostName": "p620-installer"},
		"nixpkgs":    map[string]any{"hostPlatform": "x86_64-linux"},
		"services": map[string]any{"openssh": map[string]any{
			"enable": true,
			"settings": map[string]any{
				"PasswordAuthentication":       false,
				"KbdInteractiveAuthentication": false,
				"PermitRootLogin":              map[string]any{"_force": "prohibit-password"},
			},
		}},
		"users": map[string]any{"users": map[string]any{
			"root":  map[string]any{"openssh": map[string]any{"authorizedKeys": map[string]any{"keys": keys}}},
			"nixos": map[string]any{"openssh": map[string]any{"authorizedKeys": map[string]any{"keys": keys}}},
		}},
		"environment": map[string]any{"systemPackages": []any{map[string]any{
			"name": "install-p620",
			"text": text,
		}}},
	}
	if !reflect.DeepEqual(got, any(want)) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("installer module evaluates to\n%s", g)
	}
}
