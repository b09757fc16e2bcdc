package rules_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
)

// parseFormSame are the rules whose fixes leave the expression Nix's
// parser builds unchanged: nix-instantiate --parse prints the same before
// and after.
var parseFormSame = map[string]bool{"NL101": true, "NL107": true, "NL204": true, "NL206": true}

func needNix(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but nix-instantiate is not on PATH: %v", err)
		}
		t.Skip("nix-instantiate not found: install Debian's nix-bin to check fixes against real Nix")
	}
	return path
}

func nixRun(nix string, args ...string) (string, error) {
	cmd := exec.Command(nix, args...)
	cmd.Env = append(os.Environ(), "NIX_PATH=nixpkgs=/nonexistent", "HOME=/nonexistent")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return errb.String(), err
	}
	return out.String(), nil
}

// TestFixesAgainstNix checks every golden fix with real Nix: the fixed
// file parses whenever the original does; for the rules in parseFormSame
// the parse is the same; and when the original evaluates with
// nix-instantiate --eval --strict, the fixed file evaluates to the same.
func TestFixesAgainstNix(t *testing.T) {
	nix := needNix(t)
	goldens, _ := filepath.Glob("testdata/*/*.nix.golden")
	if len(goldens) < 20 {
		t.Fatalf("only %d golden files", len(goldens))
	}
	evaluated := 0
	for _, g := range goldens {
		orig := strings.TrimSuffix(g, ".golden")
		rule := filepath.Base(filepath.Dir(g))
		// nix-instantiate wants a .nix name; copy the golden beside the
		// original so that relative paths resolve the same.
		fixed := strings.TrimSuffix(orig, ".nix") + ".fixed-tmp.nix"
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fixed, src, 0o666); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(fixed)
		po, err := nixRun(nix, "--parse", orig)
		if err != nil {
			continue // the original is meant to be broken
		}
		pf, err := nixRun(nix, "--parse", fixed)
		if err != nil {
			t.Errorf("%s: the fixed file does not parse with Nix: %s", g, pf)
			continue
		}
		if parseFormSame[rule] && po != pf {
			t.Errorf("%s: %s's fix changed the parse:\n%s\nbecame\n%s", g, rule, po, pf)
		}
		eo, err := nixRun(nix, "--eval", "--strict", orig)
		if err != nil {
			continue // open expression or deliberate error
		}
		ef, err := nixRun(nix, "--eval", "--strict", fixed)
		if err != nil || ef != eo {
			t.Errorf("%s: evaluates to\n%s\nbut the fixed file to\n%s (err %v)", g, eo, ef, err)
		}
		evaluated++
	}
	t.Logf("%d fixes compared by evaluation", evaluated)
	if evaluated < 5 {
		t.Errorf("only %d fixed files could be evaluated; the fixtures need more closed expressions", evaluated)
	}
}

// TestAllFixesAgainstNix fixes every fixture with every rule at once, as
// fleetgen lint --fix does, and checks the result with real Nix: it parses
// whenever the original does, and evaluates to the same value whenever
// the original evaluates. Fixes of different rules interact here (one
// rule's fix can enable another's), which the per-rule goldens do not
// show.
func TestAllFixesAgainstNix(t *testing.T) {
	nix := needNix(t)
	files, _ := filepath.Glob("testdata/*/*.nix")
	evaluated := 0
	for _, name := range files {
		if strings.Contains(name, ".fixed-tmp") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := lint.FixSource(rules.All, name, src)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		fixed := strings.TrimSuffix(name, ".nix") + ".allfix-tmp.nix"
		if err := os.WriteFile(fixed, out, 0o666); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(fixed)
		if _, err := nixRun(nix, "--parse", name); err != nil {
			continue
		}
		if msg, err := nixRun(nix, "--parse", fixed); err != nil {
			t.Errorf("%s: fixed by all rules, it no longer parses: %s\n%s", name, msg, out)
			continue
		}
		eo, err := nixRun(nix, "--eval", "--strict", name)
		if err != nil {
			continue
		}
		ef, err := nixRun(nix, "--eval", "--strict", fixed)
		if err != nil || ef != eo {
			t.Errorf("%s: evaluates to\n%s\nbut fixed by all rules to\n%s (err %v)\n%s", name, eo, ef, err, out)
		}
		evaluated++
	}
	t.Logf("%d files fixed by all rules compared by evaluation", evaluated)
	if evaluated < 5 {
		t.Errorf("only %d files could be compared", evaluated)
	}
}
