// Package schema holds fleet's CUE schema, the single source of truth for what a
// fleet may say.
//
// The *.cue files in this directory form the CUE package
// fleetnix.dev/fleet/schema. They are embedded in every fleetgen binary, vendored
// into a user's repository by `fleetgen init` and `fleetgen schema sync`, and
// used by the stock `cue vet` and `cue lsp`. This package contains no Go logic.
package schema

import "embed"

// FS holds the CUE files of the schema package, by base name.
//
//go:embed *.cue
var FS embed.FS
