package format

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var update = os.Getenv("FLEET_UPDATE") != ""

// meaning returns the normal form of src as nix-instantiate --parse would
// print it; formatting must not change it.
func meaning(t testing.TB, name string, src []byte) string {
	t.Helper()
	f, errs := syntax.Parse(name, src)
	if errs = grammar(errs); len(errs) > 0 {
		t.Fatalf("%s: does not parse: %v\n%s", name, errs, src)
	}
	var b bytes.Buffer
	if err := syntax.Show(&b, f.Expr, syntax.ShowOptions{BaseDir: "/base", Home: "/home"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// check formats src and verifies the three promises: the result
// reparses, means the same, and formats to itself.
func check(t testing.TB, name string, src []byte) []byte {
	t.Helper()
	out, err := Source(src)
	if err != nil {
		t.Fatalf("%s: Source: %v", name, err)
	}
	if m1, m2 := meaning(t, name, src), meaning(t, name+" (formatted)", out); m1 != m2 {
		t.Fatalf("%s: formatting changed the meaning\ninput:\n%s\noutput:\n%s\nbefore: %s\nafter:  %s", name, src, out, m1, m2)
	}
	again, err := Source(out)
	if err != nil {
		t.Fatalf("%s: formatting the output: %v", name, err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("%s: not idempotent\nfirst:\n%s\nsecond:\n%s", name, out, again)
	}
	return out
}

// TestGolden runs testdata/format/*.txtar: each x.input.nix is formatted
// and compared with out/format/x.nix. FLEET_UPDATE=1 rewrites the output.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/format/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		for _, f := range a.Files {
			base, ok := strings.CutSuffix(f.Name, ".input.nix")
			if !ok {
				continue
			}
			name := file + ":" + f.Name
			got := check(t, name, f.Data)
			outName := "out/format/" + base + ".nix"
			i := index(a, outName)
			switch {
			case update && i < 0:
				a.Files = append(a.Files, txtar.File{Name: outName, Data: got})
				changed = true
			case update && !bytes.Equal(a.Files[i].Data, got):
				a.Files[i].Data = got
				changed = true
			case i < 0:
				t.Errorf("%s: no %s section; run with FLEET_UPDATE=1", name, outName)
			case !bytes.Equal(a.Files[i].Data, got):
				t.Errorf("%s: got\n%s\nwant\n%s", name, got, a.Files[i].Data)
			}
		}
		if changed {
			if err := os.WriteFile(file, txtar.Format(a), 0o666); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func index(a *txtar.Archive, name string) int {
	for i, f := range a.Files {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// TestCorpus formats every valid case of the parser's differential corpus.
func TestCorpus(t *testing.T) {
	a, err := txtar.ParseFile("../syntax/testdata/corpus.txtar")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range a.Files {
		if _, errs := syntax.Parse(f.Name, f.Data); len(grammar(errs)) > 0 {
			continue
		}
		n++
		check(t, f.Name, f.Data)
	}
	if n < 100 {
		t.Fatalf("only %d valid corpus cases", n)
	}
}

func TestSourceRejectsInvalid(t *testing.T) {
	if _, err := Source([]byte("{ a = ; }")); err == nil || !strings.Contains(err.Error(), "expected an expression") {
		t.Errorf("Source of invalid input: %v", err)
	}
}

// TestBuilt prints trees made with the syntax constructors, as the
// emitter will, and checks they reparse to what they were built as.
func TestBuilt(t *testing.T) {
	S := syntax.Str
	tree := syntax.NewFile(syntax.WithComment(syntax.FnArgs(syntax.Args(true, "config", "lib", "pkgs"),
		syntax.LetIn([]syntax.Binding{syntax.Bind("port", syntax.IntLit(8080))},
			syntax.Attrs(
				syntax.Bind("networking.hostName", S("p620")),
				syntax.BindPath([]string{"fileSystems", "/"}, syntax.Attrs(syntax.Bind("device", S("/dev/sda1")), syntax.Bind("fsType", S("ext4")))),
				syntax.WithComment(syntax.Bind("networking.firewall.allowedTCPPorts", syntax.ListOf(syntax.IntLit(22), syntax.Ref("port"), syntax.IntLit(-1))), "ssh and the service"),
				syntax.Bind("environment.systemPackages", syntax.ListOf(syntax.Ref("pkgs.git"), syntax.Ref("pkgs.python3Packages.requests"))),
				syntax.Bind("services.x.enable", syntax.Bool(true)),
				syntax.Bind("services.x.ratio", syntax.FloatLit(0.5)),
				syntax.Bind("services.x.big", syntax.FloatLit(1e21)),
				syntax.Bind("services.x.none", syntax.Null()),
				syntax.Bind("services.x.text", S("a \"quoted\" ${not} interpolated\n")),
				syntax.Bind("services.x.path", syntax.PathLit("./hosts/p620.nix")),
				syntax.Bind("users.users", syntax.Call(syntax.Ref("lib.genAttrs"), syntax.ListOf(S("a"), S("b")), syntax.Fn("name", syntax.Attrs(syntax.Bind("isNormalUser", syntax.Bool(true)))))),
				syntax.Bind("x.forced", syntax.Call(syntax.Ref("lib.mkForce"), syntax.Op(syntax.IntLit(1), syntax.PLUS, syntax.IntLit(2)))),
				syntax.Bind("x.update", syntax.Op(syntax.Ref("a"), syntax.UPDATE, syntax.Attrs(syntax.InheritNames("b"), syntax.InheritFrom(syntax.Ref("lib"), "mkIf")))),
				syntax.Bind("x.sel", syntax.SelOr(syntax.Ref("config"), syntax.Null(), "a", "b-c", "d.e")),
				syntax.Bind("x.interp", syntax.Interpolated("${pkgs.foo}/bin/", syntax.Ref("pkgs.foo"), "/bin/foo")),
				syntax.Bind("x.cond", syntax.IfThen(syntax.Not(syntax.Ref("a")), syntax.Neg(syntax.Call(syntax.Ref("f"), syntax.Ref("x"))), syntax.WithIn(syntax.Ref("lib"), syntax.Ref("x")))),
			))), "Code generated by fleetgen. DO NOT EDIT."))
	var b bytes.Buffer
	if err := Node(&b, tree); err != nil {
		t.Fatal(err)
	}
	want := `# Code generated by fleetgen. DO NOT EDIT.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  port = 8080;
in
{
  networking.hostName = "p620";
  fileSystems."/" = {
    device = "/dev/sda1";
    fsType = "ext4";
  };
  # ssh and the service
  networking.firewall.allowedTCPPorts = [
    22
    port
    (-1)
  ];
  environment.systemPackages = [
    pkgs.git
    pkgs.python3Packages.requests
  ];
  services.x.enable = true;
  services.x.ratio = 0.5;
  services.x.big = 1.0e+21;
  services.x.none = null;
  services.x.text = "a \"quoted\" \${not} interpolated\n";
  services.x.path = ./hosts/p620.nix;
  users.users = lib.genAttrs [
    "a"
    "b"
  ] (name: { isNormalUser = true; });
  x.forced = lib.mkForce (1 + 2);
  x.update = a // {
    inherit b;
    inherit (lib) mkIf;
  };
  x.sel = config.a.b-c."d.e" or null;
  x.interp = "\${pkgs.foo}/bin/${pkgs.foo}/bin/foo";
  x.cond = if !a then -f x else with lib; x;
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	out := check(t, "built", b.Bytes())
	if !bytes.Equal(out, b.Bytes()) {
		t.Errorf("built output is not in canonical form:\n%s", out)
	}
	// The value of the string survives.
	f, _ := syntax.Parse("", b.Bytes())
	var found string
	syntax.Inspect(f, func(n syntax.Node) bool {
		if s, ok := n.(*syntax.String); ok && found == "" {
			if v, err := syntax.StringValue(s); err == nil && strings.Contains(v, "quoted") {
				found = v
			}
		}
		return true
	})
	if found != "a \"quoted\" ${not} interpolated\n" {
		t.Errorf("string value %q", found)
	}
}

// grammar drops undefined-variable errors: the formatter's cases are
// fragments whose free variables do not matter to layout.
func grammar(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Code != syntax.UndefinedVariable {
			out = append(out, d)
		}
	}
	return out
}

// TestRegions lays out only the bindings that hold the spans, each at its
// place, and keeps every other byte.
func TestRegions(t *testing.T) {
	src := "{\n  keep   =   [ 1   2 ];\n  # about x\n  x   =   {  a = 1;   b = [ 3   4 ]; };\n  args = { a,   b }: a;\n}\n"
	f, errs := syntax.Parse("r.nix", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	at := func(s string) syntax.Pos { return syntax.Pos(strings.Index(src, s) + 1) }
	out, err := Regions(f, []Span{
		{at("b = [ 3"), at("b = [ 3") + 3}, // inside x.b: the innermost binding
		{at("b }: a"), at("b }: a")},       // a place in the formals
		{at("}\n") + 1, at("}\n") + 1},     // a place no binding holds
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  keep   =   [ 1   2 ];\n  # about x\n  x   =   {  a = 1;   b = [ 3 4 ]; };\n  args = { a, b }: a;\n}\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// TestVerify checks the guard Source and fleetgen fmt run on every
// layout: text whose tokens lex differently from the tree's is refused.
func TestVerify(t *testing.T) {
	f, errs := syntax.Parse("v.nix", []byte("[ (- ./d) (./d .b) ]\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct{ out, err string }{
		{"[ (- ./d) (./d .b) ]\n", ""},
		{"[ (-./d) (./d .b) ]\n", `"-" became path "-./d"`},
		{"[ (- ./d) (./d.b) ]\n", `path "./d" became path "./d.b"`},
		{"[ (- ./d) (./d .b) ] x\n", `end of file became identifier "x"`},
		{"[ (- ./d) ]\n", `"(" became "]"`},
		{"[ (- ./d) (./d .b)\n", "does not parse"},
	} {
		err := Verify(f, []byte(c.out))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("Verify(%q): %v", c.out, err)
		case c.err != "" && (err == nil || !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Verify(%q) = %v, want an error with %q", c.out, err, c.err)
		}
	}
}
