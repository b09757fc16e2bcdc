package load

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEntryPositionsFromSyntax checks that the positions the entries'
// syntax gives (an entry's declaration, a leaf's value) are those CUE's
// conjuncts give (userPos), over the reference fleet, the examples and
// edits where the first conjunct of a value the user sets is the
// schema's: a field the schema gives a default (deploy.port,
// deploy.targetUser), a list under a pattern constraint (a user's
// profiles), a marker ({$secret: ...}); and in the errors a load
// reports, a bad name (where its entry starts) and a bad value included.
func TestEntryPositionsFromSyntax(t *testing.T) {
	defer func() { conjunctPositions = false }()
	for _, tc := range []struct {
		dir     string
		overlay map[string]string
		errors  bool
	}{
		{"../..", nil, false},
		{"../../examples/minimal", nil, false},
		{"../../examples/homelab", nil, false},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: deploy: port: 2222\nhosts: razer: features: ai: providers: openai: apiKey: {$secret: \"api-openai\"}\n"}, false},
		{"../../examples/minimal", map[string]string{"edit.cue": "package fleet\n\nhosts: box: deploy: {port: 2222, health: timeout: \"2m\"}\n"}, false},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: deploy: port: \"x\"\n"}, true},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: \"Bad_Name\": {stateVersion: \"25.05\", deploy: targetHost: \"x.example\"}\n"}, true},
		{"../..", map[string]string{"edit.cue": "package fleet\n\nhosts: p620: template: \"nosuch\"\n"}, true},
	} {
		for _, whole := range []bool{false, true} {
			wholePackage = whole
			conjunctPositions = true
			want := loadDump(t, tc.dir, "", tc.overlay)
			conjunctPositions = false
			got := loadDump(t, tc.dir, "", tc.overlay)
			wholePackage = false
			if tc.errors != strings.HasPrefix(want, "errors:") {
				t.Fatalf("%s %v: errors = %v, want %v:\n%.2000s", tc.dir, sortedKeys(tc.overlay), !tc.errors, tc.errors, want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %v (whole package %v): positions from the syntax differ from CUE's conjuncts (-conjuncts +syntax):\n%s", tc.dir, sortedKeys(tc.overlay), whole, diff)
			}
		}
	}
}
