package syntax

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scopeCases are files whose variables Nix 2.8 resolves when it parses:
// each is accepted, or rejected naming the first undefined variable.
var scopeCases = []string{
	"x: y",
	"x: x",
	"let a = b; b = 1; in a",
	"let inherit x; in x",
	"let x = 1; in let inherit x; in x",
	"rec { a = b; b = 1; c = { d = a; }; }",
	"{ a = b; b = 1; }",
	"{ inherit a; }",
	"{ inherit (builtins) map; x = map; }",
	"{ x ? y, y ? 1 }@args: x + args.y",
	"{ x ? y, y ? 1 }@args: x + args.y + z",
	"args@{ a, ... }: args.b + a",
	"with {}; y",
	"(with {}; 1) + y",
	"builtins.map toString [ true false null ]",
	"__add 1 2",
	"import ./x.nix { inherit (pkgs) lib; }",
	"{ ${a} = 1; }",
	"{ a.${b} = 1; }",
	"let { x = 1; body = x; }",
	"<nixpkgs>",
	"assert x; 1",
	"if true then a else 1",
	"[ (abort \"x\") throw derivation fetchTarball ]",
	"\"${x}\"",
	"./a/${b}",
	"rec { \"a b\" = 1; c = a; }",
	"e: e.a or b",
	"e: e ? ${f}",
}

var undefinedRx = regexp.MustCompile(`undefined variable '([^']+)'`)

// TestScopeOracle checks that the parser reports exactly the undefined
// variables Nix 2.8 reports when it parses each case.
func TestScopeOracle(t *testing.T) {
	nix := requireNix(t)
	dir := t.TempDir()
	for i, src := range scopeCases {
		file := filepath.Join(dir, "case.nix")
		os.WriteFile(file, []byte(src+"\n"), 0o644)
		out, err := exec.Command(nix, "--parse", file).CombinedOutput()
		want := ""
		if err != nil {
			m := undefinedRx.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("case %d %q: Nix failed for another reason: %s", i, src, out)
			}
			want = m[1]
		}
		_, errs := Parse("case.nix", []byte(src+"\n"))
		got := ""
		for _, e := range errs {
			if v, ok := strings.CutPrefix(e.Summary, "undefined variable `"); ok {
				got = strings.TrimSuffix(v, "`")
				break
			}
			t.Errorf("case %d %q: unexpected error %v", i, src, e)
		}
		if got != want {
			t.Errorf("case %d %q: first undefined variable %q, Nix says %q", i, src, got, want)
		}
	}
}

func TestParseIn(t *testing.T) {
	if _, errs := ParseIn("m.nix", []byte("config.boot.x + lib.y"), "config", "lib"); len(errs) > 0 {
		t.Errorf("bound names reported: %v", errs)
	}
	if _, errs := ParseIn("m.nix", []byte("pkgs.hello"), "config"); len(errs) != 1 {
		t.Errorf("free pkgs not reported: %v", errs)
	}
}
