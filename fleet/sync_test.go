package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/fleettest"
)

// TestSyncNixOS reads the option index of a fleet on the miniature
// nixpkgs with real Nix and compares it with testdata/nixos.index.golden
// (the miniature's path, hashes and times replaced; FLEET_UPDATE=1
// writes it): the head, every option with its type, the renamed and
// removed options, the packages. A second read gives the same bytes and
// leaves the file alone.
func TestSyncNixOS(t *testing.T) {
	fleettest.RequireNix(t)
	dir := checkFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	opts := SyncOptions{NixArgs: fleettest.NixArgs()[2:]}
	res, err := f.SyncNixOS(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Written || !res.LockCreated || res.RemovedUnread || res.File != filepath.Join(dir, "nix", IndexFile) {
		t.Errorf("result %+v, want a new index and lock, removed options read", res)
	}
	if strings.Join(res.Missing, " ") != "gh-copilot" {
		t.Errorf("missing %v, want gh-copilot (devbox's copilotCli)", res.Missing)
	}
	first, err := os.ReadFile(res.File)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(res.File)
	res, err = f.SyncNixOS(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(res.File)
	fi2, _ := os.Stat(res.File)
	if res.Written || !bytes.Equal(first, again) || !fi.ModTime().Equal(fi2.ModTime()) {
		t.Errorf("a second read wrote %v, same bytes %v, same file %v", res.Written, bytes.Equal(first, again), fi.ModTime().Equal(fi2.ModTime()))
	}

	mini := fleettest.MiniNixpkgs(t)
	got := bytes.ReplaceAll(first, []byte(mini), []byte("$MINI"))
	got = regexp.MustCompile(`sha256-[A-Za-z0-9+/=]+`).ReplaceAll(got, []byte("sha256-HASH"))
	got = regexp.MustCompile(`"lastModified":[0-9]+`).ReplaceAll(got, []byte(`"lastModified":0`))
	golden := filepath.Join("testdata", "nixos.index.golden")
	if os.Getenv("FLEET_UPDATE") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (FLEET_UPDATE=1 writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the index differs from %s (FLEET_UPDATE=1 rewrites it):\n%s", golden, got)
	}
}
