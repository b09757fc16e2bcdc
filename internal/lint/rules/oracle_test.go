package rules_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
