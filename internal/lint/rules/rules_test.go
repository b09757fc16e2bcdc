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

// TestBoundNames lints a raw expression as fleet does a {$nix: …} value:
// the module arguments are bound around it, so using them is no error,
// while other free names still are.
func TestBoundNames(t *testing.T) {
	src := []byte("lib.optional config.x (pkgs.hello or unknownName)")
	ids := func(f *lint.File) []string {
		var out []string
		for _, d := range lint.Run(rules.All, []*lint.File{f}) {
			out = append(out, d.Rule.ID+" "+d.Message)
		}
		return out
	}
	got := ids(lint.ParseExpr("expr", src, "config", "lib", "options", "pkgs"))
	want := []string{"NS307 undefined variable `unknownName`"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("with module arguments bound: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = ids(lint.Parse("expr", src))
	if n := strings.Count(strings.Join(got, "\n"), "NS307"); n != 4 {
		t.Errorf("without bound names: %d undefined variables, want 4:\n%s", n, strings.Join(got, "\n"))
	}
}

// TestFixClash fixes a file whose fixes are sound alone but not together:
// NS303 would drop the formal lib that NM403's fix starts to use. --fix
// keeps the use and the formal, where it used to refuse the file.
func TestFixClash(t *testing.T) {
	src := "{lib,...}:{config=if A then{}else{};}\n"
	res, err := lint.FixFile(rules.All, "clash.nix", []byte(src), lint.FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Src), "{lib,...}:{config=lib.mkIf A {};}\n"; got != want {
		t.Errorf("fixed:\n%s\nwant:\n%s", got, want)
	}
}
