package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": exitcode,
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

// exitcode runs a program like exec and checks its exact exit status:
//
//	exitcode 2 fleetgen frobnicate
//
// Its stdout and stderr are kept for the stdout and stderr commands.
func exitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
