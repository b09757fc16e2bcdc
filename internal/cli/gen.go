package cli

import (
	"fmt"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{name: "gen", args: "[--check] [-o DIR] [packages]", short: "write the fleet's Nix: flake, host modules, home modules, agenix rules", run: runGen})
}

func runGen(e *env, args []string) int {
	fs := e.flags("gen", "[--check] [-o DIR] [packages]")
	check := fs.Bool("check", false, "write nothing; list stale files and exit 1 when the tree is not up to date")
	out := fs.String("o", "", "output directory (default: the fleet's settings.output, relative to the module root)")
	pkgs, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	f, code := e.loadWith(e.config(pkgs, true))
	if f == nil {
		return code
	}
	if code := e.secretWarnings(f); code != exitOK {
		return code
	}
	res, err := f.Generate(fleet.GenerateOptions{OutDir: *out, Check: *check})
	if err != nil {
		return e.report(err)
	}
	if len(res.Warnings) > 0 {
		fleet.PrintErrors(e.stderr, e.cwd, res.Warnings)
	}
	verb, gone := "wrote", "removed"
	if *check {
		verb, gone = "stale", "stale (would be removed)"
	}
	for _, p := range res.Written {
		fmt.Fprintf(e.stdout, "%s %s\n", verb, fleet.RelPath(e.cwd, p))
	}
	for _, p := range res.Removed {
		fmt.Fprintf(e.stdout, "%s %s\n", gone, fleet.RelPath(e.cwd, p))
	}
	if *check && res.Stale() {
		return exitFail
	}
	return exitOK
}
