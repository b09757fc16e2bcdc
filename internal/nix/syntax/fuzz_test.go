package syntax_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// show returns the nix-instantiate --parse form of src, or ok=false when
// src does not parse.
func show(src []byte) (string, bool) {
	f, errs := syntax.Parse("fuzz.nix", src)
	if len(errs) > 0 {
		return "", false
	}
	var b bytes.Buffer
	if err := syntax.Show(&b, f.Expr, syntax.ShowOptions{BaseDir: "/b", Home: "/h"}); err != nil {
		return "", false
	}
	return b.String(), true
}

// FuzzParse checks the parser, the verbatim printer, the formatter and
// the quoter against each other on every input: printing a parse gives
// back the input; input that parses also formats, the formatted output
// reparses with the same meaning and formats to itself; Unquote undoes
// Quote. Where nix-instantiate is installed (and not with -short), the
// input's acceptance and normal form are also compared with Nix's.
func FuzzParse(f *testing.F) {
	a, err := txtar.ParseFile("testdata/corpus.txtar")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range a.Files {
		f.Add(string(file.Data))
	}
	// One seed per construct, besides the corpus.
	for _, s := range []string{
		"1", "1.5", "a", "a.b.c or d", "a ? b", "f x y", "-x", "!x", "a + b * c",
		"a == b", "a < b", "a // b", "a ++ b", "a -> b", "a && b || c",
		"if a then b else c", "assert a; b", "with a; b", "let a = 1; in a",
		"let { body = 1; }", "rec { a = 1; }", "{ inherit a; inherit (b) c; }",
		"{ a, b ? 1, ... }@x: a", "x: x", "[ 1 \"a\" ./p <q> http://u ]",
		"\"a${b}c\\n\"", "''\n  a ${b}\n  ''$ '''\n''", "./a/${b}/c", "~/x",
		"{ a.b.c = 1; \"d\".${e} = 2; }", "__curPos", "a or b",
	} {
		f.Add(s)
	}
	nix := ""
	if p, err := exec.LookPath("nix-instantiate"); err == nil && !testing.Short() {
		nix = p
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			t.Skip("input too large")
		}
		file, errs := syntax.Parse("fuzz.nix", []byte(src))
		if got := string(syntax.Bytes(file)); got != src {
			t.Fatalf("round trip: got %q want %q", got, src)
		}
		for _, e := range errs {
			if e.Range.Start.Offset > len(src) || e.Range.Start.Line < 1 {
				t.Fatalf("error outside the input: %v", e)
			}
		}
		if v, err := syntax.Unquote(syntax.Quote(src)); err != nil || v != src {
			t.Fatalf("Unquote(Quote(%q)) = %q, %v", src, v, err)
		}
		if len(errs) == 0 {
			before, ok := show([]byte(src))
			if !ok {
				t.Fatalf("parsed but cannot be shown: %q", src)
			}
			out, err := format.Source([]byte(src))
			if err != nil {
				t.Fatalf("format failed on input that parsed: %v\n%s", err, src)
			}
			after, ok := show(out)
			if !ok {
				t.Fatalf("formatted output does not parse:\n%s\ninput:\n%s", out, src)
			}
			if before != after {
				t.Fatalf("formatting changed the meaning\ninput:\n%s\noutput:\n%s\nbefore: %s\nafter:  %s", src, out, before, after)
			}
			again, err := format.Source(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("format is not idempotent (%v)\nfirst:\n%s\nsecond:\n%s", err, out, again)
			}
		}
		if nix != "" && !strings.ContainsRune(src, 0) {
			compareWithNix(t, dir, src)
		}
	})
}

// compareWithNix checks that Nix accepts the wrapped input exactly when
// we do, and prints the same normal form, allowing the order of let
// bindings and formals to differ (Nix 2.8 orders them by symbol address).
func compareWithNix(t *testing.T, dir, src string) {
	wrapped := "with {}; (" + src + "\n)"
	file := filepath.Join(dir, "fuzz.nix")
	if err := os.WriteFile(file, []byte(wrapped), 0o666); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nix-instantiate", "--parse", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	nixErr := cmd.Run()
	if _, ok := nixErr.(*exec.ExitError); nixErr != nil && !ok {
		t.Fatalf("running nix-instantiate: %v", nixErr)
	}
	f, errs := syntax.Parse(file, []byte(wrapped))
	if (nixErr == nil) != (len(errs) == 0) {
		t.Fatalf("acceptance differs from Nix on %q\nours: %v\nnix: %s", wrapped, errs.Err(), stderr.String())
	}
	if nixErr != nil {
		return
	}
	var ours bytes.Buffer
	home, _ := os.UserHomeDir()
	if err := syntax.Show(&ours, f.Expr, syntax.ShowOptions{BaseDir: dir, Home: home}); err != nil {
		t.Fatal(err)
	}
	theirs := strings.TrimSuffix(stdout.String(), "\n")
	if ours.String() == theirs {
		return
	}
	canon := func(s string) string {
		g, errs := syntax.Parse("", []byte(s))
		if len(errs) > 0 {
			return "unparsable: " + s
		}
		var b bytes.Buffer
		syntax.Show(&b, g.Expr, syntax.ShowOptions{BaseDir: "/", Home: "/", SortUnordered: true})
		return b.String()
	}
	if canon(ours.String()) != canon(theirs) {
		t.Fatalf("normal form differs from Nix on %q\nours: %s\nnix:  %s", wrapped, ours.String(), theirs)
	}
}
