// Command fleetgen checks a fleet of NixOS hosts described in CUE, writes
// the Nix that builds them, lints them and drives their builds and
// deployments. Run "fleetgen help" for the commands.
package main

import (
	"os"

	"fleetnix.dev/fleet/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
