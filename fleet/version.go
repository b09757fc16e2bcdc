package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime/debug"
	"strings"
)

// Version returns the version of the fleet module this program was built
// from ("v1.2.0", or "(devel)" for a build of a checkout without version
// control information) and, when the build recorded it, the commit and
// whether the tree had changes ("abcdef012345+dirty").
func Version() (module, commit string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)", ""
	}
	module = bi.Main.Version
	for _, d := range bi.Deps {
		// A program that imports fleet as a library reports fleet's
		// version among its dependencies.
		if d.Path == modulePath {
			module = d.Version
		}
	}
	if module == "" {
		module = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		commit = rev + dirty
	}
	return module, commit
}

// modulePath is the path of fleet's Go module.
const modulePath = "fleetnix.dev/fleet"

// SchemaVersion identifies the schema fleetgen embeds: the first 12 hex
// digits of a SHA-256 over its files, names and contents. Two binaries
// with the same schema version check fleets alike; a vendored schema of
// another version is reported by every load.
func SchemaVersion() string {
	files, err := schemaFiles()
	if err != nil {
		return "(unknown)"
	}
	h := sha256.New()
	for _, name := range sortedNames(files) {
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(files[name])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// GoVersion returns the Go release the program was built with.
func GoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return strings.TrimSpace(bi.GoVersion)
	}
	return ""
}
