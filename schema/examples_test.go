package schema_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"fleetnix.dev/fleet/fleet"
)

// TestExamples loads the reference fleet at the repository's root and
// each fleet under examples/, and checks that its checked-in generated
// tree is what fleetgen writes now; FLEET_UPDATE=1 rewrites it.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "examples", "*", "fleet.cue"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 2 {
		t.Fatalf("found %d examples, want at least minimal and homelab", len(dirs))
	}
	update := os.Getenv("FLEET_UPDATE") != ""
	dirs = append(dirs, filepath.Join("..", "fleet.cue"))
	for _, d := range dirs {
		dir := filepath.Dir(d)
		name := filepath.Base(dir)
		if dir == ".." {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
			if err != nil {
				var b bytes.Buffer
				fleet.PrintErrors(&b, dir, err)
				t.Fatalf("%v\n%s", err, b.String())
			}
			if w := f.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			res, err := f.Generate(fleet.GenerateOptions{Check: !update})
			if err != nil {
				t.Fatal(err)
			}
			if !update && res.Stale() {
				t.Errorf("the generated tree is stale (FLEET_UPDATE=1 regenerates it): written %v, removed %v", res.Written, res.Removed)
			}
		})
	}
}
