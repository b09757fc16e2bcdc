// Command fleetgen checks a fleet of NixOS hosts described in CUE, writes
// the Nix that builds them, lints them and drives their builds and
// deployments. Run "fleetgen help" for the commands.
package main

import (
	"os"
	"runtime/debug"

	"fleetnix.dev/fleet/internal/cli"
)

// memoryLimit is the soft memory limit fleetgen runs with unless
// GOMEMLIMIT sets one (GOMEMLIMIT=off: none). A fleet of 10,000 hosts
// holds at most about 650 MB live (its load); without a limit the
// collector lets the heap grow to twice that. Fleets of a few thousand
// hosts never reach it. See docs/performance.md, "Memory at 10,000
// hosts (session 7)".
const memoryLimit = 900 << 20

func main() {
	defaultMemoryLimit()
	defaultGCFloor(os.Args[1:])
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultMemoryLimit sets memoryLimit as the soft memory limit, unless
// GOMEMLIMIT is set (the runtime has then read it).
func defaultMemoryLimit() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(memoryLimit)
	}
}
