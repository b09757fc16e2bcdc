package build_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/fleettest"
	"fleetnix.dev/fleet/internal/model"
)

// builderDaemon is the remote program of the test builder: nix-daemon with
// the settings a store of its own on this machine needs. A chroot store
// always builds in a sandbox, which must see the /bin/sh and coreutils the
// fixture builds with.
const builderDaemon = `#!/bin/sh
NIX_CONFIG="sandbox-paths = /bin /lib /lib64 /usr
substituters =
build-users-group =
$NIX_CONFIG"
export NIX_CONFIG
exec nix-daemon "$@"
`

// TestRemoteBuilder builds a host locally with --max-jobs 0, so that Nix
// must hand the toplevel to the builder: an sshd on 127.0.0.1 whose
// nix-daemon serves a store of its own under a temporary directory (sharing
// the deployer's /nix/store deadlocks Nix 2.8). The output must appear in
// that store.
func TestRemoteBuilder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a builder store of its own under a temporary directory needs root (a chroot store)")
	}
	f := newFixture(t, "alpha", "builder")
	// A generation no other test builds, so the toplevel is not already
	// in the local store.
	f.settings(t, fleettest.FlakeSettings{Generation: "rb" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	daemon := filepath.Join(dir, "daemon")
	if err := os.WriteFile(daemon, []byte(builderDaemon), 0o755); err != nil {
		t.Fatal(err)
	}
	alpha := f.host("alpha")
	alpha.Build.Builders = []model.Builder{{
		Target:      f.host("builder").Target,
		Systems:     []string{"x86_64-linux"},
		StoreParams: map[string]string{"remote-store": "local?root=" + store, "remote-program": daemon},
	}}
	f.opts.NixArgs = append(f.opts.NixArgs, "--max-jobs", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rs := build.Build(ctx, []*model.Host{alpha}, f.opts)
	if rs[0].Status != build.Built {
		f.rec.dump(t)
		t.Fatalf("alpha: %v: %v", rs[0].Status, rs[0].Err)
	}
	out := rs[0].StorePath
	if _, err := os.Stat(filepath.Join(store, out)); err != nil {
		f.rec.dump(t)
		t.Fatalf("the builder's store lacks the output: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "generation")); err != nil {
		t.Fatalf("the output did not come back to the local store: %v", err)
	}
}
