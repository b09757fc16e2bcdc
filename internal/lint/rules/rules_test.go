package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/linttest"
	"fleetnix.dev/fleet/internal/lint/rules"
)

func TestValidate(t *testing.T) {
	if err := lint.Validate(append([]*lint.Rule{rules.Scope}, rules.All...)); err != nil {
		t.Fatal(err)
	}
}

// TestRules runs every rule against testdata/<ID>/, which each rule must
// have.
func TestRules(t *testing.T) {
	for _, r := range rules.All {
		if r.Run == nil {
			continue // fleet rules: TestFleetRules
		}
		t.Run(r.ID, func(t *testing.T) {
			dir := filepath.Join("testdata", r.ID)
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("rule %s has no testdata: %v", r.ID, err)
			}
			linttest.Run(t, dir, r)
		})
	}
}

// TestDocs checks that every rule's Doc says more than its summary.
func TestDocs(t *testing.T) {
	for _, r := range rules.All {
		if !strings.Contains(r.Doc, "\n\n") {
			t.Errorf("%s: Doc has no body after the summary line", r.ID)
		}
	}
}
