package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

const nixosSyncArgs = ""

func init() {
	register(&command{name: "nixos sync", args: nixosSyncArgs, short: "read the option trees and packages of the fleet's locked nixpkgs into nix/" + fleet.IndexFile + ", for vet", long: nixosSyncHelp, run: runNixOSSync})
}

// nixosSyncHelp is the long help of nixos sync, after its flags.
const nixosSyncHelp = `
nixos sync reads, with nix and the inputs the generated flake's lock file
pins (offline; nothing is built), the real option trees the fleet's hosts
are evaluated with: NixOS's options and those of the modules the fleet's
inputs add (agenix, disko, microvm.nix), home-manager's options of a
user, with their types, declaring files, and the options renamed or
removed; and whether the locked nixpkgs has each package the fleet uses.
It writes that index beside the lock file, in the output directory
(nix/` + fleet.IndexFile + `): commit it with the lock. The Nix tree is
regenerated first; a generated flake without a lock file gets one.

With the index, vet and gen check every option path and value the fleet
writes, free-form nixos values included, and every package, against it:
an option it lacks is an error (with "did you mean"), a renamed one a
warning naming the new option, a removed one an error with nixpkgs' own
instructions. When the lock file changes, vet says the index is stale and
checks against fleet's own manifest until it is read again.

The same inputs give the same bytes; an index that did not change is not
rewritten. Exit status: 0 when the index was read, 1 otherwise.
`

func runNixOSSync(e *env, args []string) int {
	fs := e.flags("nixos sync", nixosSyncArgs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: fleetgen nixos sync\n%s", nixosSyncHelp)
	}
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if len(rest) > 0 {
		return e.usageErr("nixos sync", "nixos sync takes no arguments")
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	res, err := f.SyncNixOS(e.ctx, fleet.SyncOptions{Progress: e.stderr})
	if err != nil {
		return e.report(err)
	}
	if res.LockCreated {
		fmt.Fprintf(e.stderr, "created %s: the generated flake's inputs, locked as they are now\n",
			fleet.RelPath(e.cwd, strings.TrimSuffix(res.File, fleet.IndexFile)+"flake.lock"))
	}
	if res.RemovedUnread {
		fmt.Fprintf(e.stderr, "the instructions of removed options could not be read; the index says only that they were removed\n")
	}
	verb := "wrote"
	if !res.Written {
		verb = "unchanged"
	}
	var trees []string
	for _, t := range slices.Sorted(maps.Keys(res.Options)) {
		trees = append(trees, fmt.Sprintf("%d %s", res.Options[t], t))
	}
	var mods []string
	for _, m := range res.Modules {
		mods = append(mods, strings.Join(m, "."))
	}
	fmt.Fprintf(e.stdout, "%s %s (%s): options %s; %d packages, %d missing\n",
		verb, fleet.RelPath(e.cwd, res.File), sizeString(res.Size), strings.Join(trees, ", "), len(res.Packages), len(res.Missing))
	if len(mods) > 0 {
		fmt.Fprintf(e.stdout, "read NixOS with the modules %s\n", strings.Join(mods, ", "))
	}
	for _, p := range res.Missing {
		fmt.Fprintf(e.stdout, "missing: pkgs.%s\n", p)
	}
	e.interrupted("nixos sync")
	return exitOK
}

// sizeString says how big n bytes are.
func sizeString(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
