package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"fleetnix.dev/fleet/internal/cli"
)

// update rewrites the golden sections of the scripts. FLEET_UPDATE=1 sets
// it for every package at once; -update is an alias for this package.
var update = flag.Bool("update", os.Getenv("FLEET_UPDATE") != "", "update testscript golden files")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fleetgen": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs every testdata/script/*.txtar. Scripts that need real
// Nix start with "[!nix] skip"; the nix condition is true when
// nix-instantiate is on PATH, and with CI set a missing Nix fails the run
// instead of skipping.
func TestScript(t *testing.T) {
	_, nixErr := exec.LookPath("nix-instantiate")
	if nixErr != nil && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but nix-instantiate is not on PATH: %v", nixErr)
	}
	if nixErr != nil {
		t.Logf("nix-instantiate not found: scripts needing Nix are skipped (install Debian's nix-bin)")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("CUE_REGISTRY", "none")
			e.Setenv("CUE_CACHE_DIR", e.WorkDir+"/.cuecache")
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "nix":
				return nixErr == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
