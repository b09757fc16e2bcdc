package cli

import (
	"fmt"
	"runtime"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "version",
		args:  "",
		short: "print fleetgen's version, the schema version it embeds, and the Go release (also --version)",
		run:   runVersion,
	})
}

// runVersion prints, one per line: fleetgen's module version (and the
// commit it was built from), the version of the schema it embeds, and the
// Go release and platform.
func runVersion(e *env, args []string) int {
	fs := e.flags("version", "")
	rest, ok := parse(fs, args)
	if !ok {
		return e.parseFailed()
	}
	if len(rest) > 0 {
		return e.usageErr("version", "takes no arguments")
	}
	module, commit := fleet.Version()
	if commit != "" {
		module += " (" + commit + ")"
	}
	fmt.Fprintf(e.stdout, "fleetgen %s\nschema %s %s\n%s %s/%s\n", module, fleet.SchemaImportPath, fleet.SchemaVersion(),
		fleet.GoVersion(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
