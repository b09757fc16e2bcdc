// Package fleettest provides test-only helpers for fleet's build and deploy
// driver: real sshd servers on 127.0.0.1 standing in for hosts, a fixture
// flake builder, and ways to inject failures on top of real components.
// It must only be imported from _test.go files.
package fleettest

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// require skips t when what is missing, or fails it when $CI is set, since
// CI must run every test.
func require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI is set, so this is a failure, not a skip", what)
	}
	t.Skipf("skipping: %s", what)
}

// RequireNix skips t when no nix command is on $PATH (fails it under CI).
func RequireNix(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("nix")
	require(t, err == nil, "nix is not installed (Debian: apt-get install nix-bin)")
}

// RequireSSHD skips t when the OpenSSH server or client is missing (fails
// it under CI).
func RequireSSHD(t testing.TB) {
	t.Helper()
	missing := MissingSSHD()
	require(t, missing == "", missing)
}

// MissingSSHD says what is missing to run test sshd servers: the OpenSSH
// server, the client, ssh-keygen or setsid. It returns "" when nothing is.
func MissingSSHD() string {
	if _, err := os.Stat(SSHDPath); err != nil {
		return SSHDPath + " is not installed (Debian: apt-get install openssh-server)"
	}
	for _, p := range []string{"ssh", "ssh-keygen", "setsid"} {
		if _, err := exec.LookPath(p); err != nil {
			return p + " is not installed"
		}
	}
	return ""
}

// NixArgs are the options every nix command of the tests needs: flakes on,
// no build users and no sandbox (the fixture builds with /bin/sh, and tests
// may run as root without nixbld users), and no binary cache (the tests are
// offline and everything they build is tiny).
func NixArgs() []string {
	return []string{
		"--extra-experimental-features", "nix-command flakes",
		"--option", "build-users-group", "",
		"--option", "sandbox", "false",
		"--option", "substituters", "",
	}
}

// FlakeSettings are the knobs of the fixture flake in
// internal/build/testdata/flake, written to its settings.json.
type FlakeSettings struct {
	// Generation is baked into every toplevel: "v1" and "v2" give each
	// host two different systems.
	Generation string `json:"generation"`
	// Broken names hosts whose toplevel fails to build.
	Broken []string `json:"broken"`
	// ExtraHosts is the number of hosts bench-0 … bench-<n-1> besides
	// alpha, beta, gamma, delta and epsilon; 0 means the flake's default,
	// 50.
	ExtraHosts int `json:"extraHosts,omitempty"`
	// Kernel is the version of every host's kernel; empty means the
	// flake's default.
	Kernel string `json:"kernel,omitempty"`
	// Packages are the packages in every host's closure, name to
	// "version" or "version:KiB".
	Packages map[string]string `json:"packages,omitempty"`
	// Units are the systemd units of every host, name to unit text; a
	// text with a line X-ReloadIfChanged=true is reloaded when it
	// changes, not restarted.
	Units map[string]string `json:"units,omitempty"`
	// Hosts override Kernel, Packages and Units per host.
	Hosts map[string]HostSettings `json:"hosts,omitempty"`
}

// HostSettings are the settings of the fixture flake for one host.
type HostSettings struct {
	Kernel   string            `json:"kernel,omitempty"`
	Packages map[string]string `json:"packages,omitempty"`
	Units    map[string]string `json:"units,omitempty"`
}

// Flake copies the fixture flake in src to a fresh directory, writes s to
// its settings.json and returns a "path:" flake reference to the copy.
// Copying keeps nix from writing into the source tree, and path: refs work
// without git.
func Flake(t testing.TB, src string, s FlakeSettings) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "flake")
	if err := copyDir(dir, src); err != nil {
		t.Fatal(err)
	}
	WriteFlakeSettings(t, "path:"+dir, s)
	return "path:" + dir
}

// WriteFlakeSettings rewrites the settings.json of a flake made by Flake.
func WriteFlakeSettings(t testing.TB, ref string, s FlakeSettings) {
	t.Helper()
	if s.Broken == nil {
		s.Broken = []string{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := ref[len("path:"):]
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyDir copies the directory tree src to dst.
func CopyDir(dst, src string) error { return copyDir(dst, src) }

func copyDir(dst, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// Inject creates the failure-injection file name (such as "fail-v2" or
// "hold-v2") under root/inject, read by the fixture's
// switch-to-configuration.
func Inject(t testing.TB, root, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "inject"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "inject", name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Release removes the injection file name under root/inject.
func Release(root, name string) error {
	return os.Remove(filepath.Join(root, "inject", name))
}

// State is what a fixture host's root says about it.
type State struct {
	Current     string // target of run/current-system, "" if none
	Profile     string // store path the system profile points to, "" if none
	BootDefault string // what the last switch or boot made the boot default
	Log         string // activations.log
}

// ReadState reads the state of the fixture host rooted at root.
func ReadState(root string) State {
	var s State
	s.Current, _ = os.Readlink(filepath.Join(root, "run", "current-system"))
	if p, err := filepath.EvalSymlinks(filepath.Join(root, "nix", "var", "nix", "profiles", "system")); err == nil {
		s.Profile = p
	}
	if b, err := os.ReadFile(filepath.Join(root, "boot-default")); err == nil {
		s.BootDefault = string(trimNL(b))
	}
	if b, err := os.ReadFile(filepath.Join(root, "activations.log")); err == nil {
		s.Log = string(b)
	}
	return s
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// MiniNixpkgs returns the absolute path of the miniature nixpkgs written
// for the tests (testdata/mininixpkgs at the repository's root), found
// from the calling test's directory.
func MiniNixpkgs(t testing.TB) string {
	t.Helper()
	for dir, _ := filepath.Abs("."); ; {
		p := filepath.Join(dir, "testdata", "mininixpkgs")
		if _, err := os.Stat(filepath.Join(p, "flake.nix")); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdata/mininixpkgs not found above the test's directory")
		}
		dir = parent
	}
}
