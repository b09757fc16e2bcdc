package fleet_test

import (
	"context"
	"testing"

	"fleetnix.dev/fleet/fleet"
)

// TestGeneratedOutputLintsClean lints the Nix fleet generates for the
// example fleet and the repository's reference fleet with every source
// rule: fleet's own output must have no finding at all.
func TestGeneratedOutputLintsClean(t *testing.T) {
	// The repository has no examples/ directory yet; testdata/example is
	// the example fleet the other tests use.
	for _, dir := range []string{"..", "testdata/example"} {
		t.Run(dir, func(t *testing.T) {
			ctx := context.Background()
			f, err := fleet.Load(ctx, &fleet.Config{Dir: dir, Packages: []string{"."}, NixOS: true})
			if err != nil {
				t.Fatalf("fleet in %s does not load: %v", dir, err)
			}
			res, err := f.LintGenerated(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Files < 3 {
				t.Fatalf("only %d generated Nix files linted", res.Files)
			}
			t.Logf("%d generated files linted", res.Files)
			for _, d := range res.Diagnostics {
				t.Errorf("%s: %s: %s [%s]", d.Pos, d.Severity, d.Summary, d.Code)
			}
		})
	}
}
