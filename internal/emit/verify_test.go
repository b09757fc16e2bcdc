package emit

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// TestRoundTripGuard builds trees the constructors would never build, each
// printing as text that parses to something else, and checks that
// printFile refuses every one (and writes nothing: it returns no bytes).
func TestRoundTripGuard(t *testing.T) {
	keys := func() *syntax.List { return syntax.ListOf(syntax.Str("ssh-ed25519 AAAA ops")) }
	rawComment := func(text string) syntax.Expr {
		// A comment token holding a carriage return, as WithComment
		// never makes: Nix ends the comment there.
		l := keys()
		first := l.Open
		first.Leading = append(first.Leading, syntax.Token{Kind: syntax.SPACE, Text: "\n"}, syntax.Token{Kind: syntax.LINECOMMENT, Text: text}, syntax.Token{Kind: syntax.SPACE, Text: "\n"})
		return syntax.Attrs(syntax.BindPath([]string{"a.age", "publicKeys"}, l))
	}
	rawText := func(text string) syntax.Expr {
		s := syntax.Str("x")
		s.Parts[0].(*syntax.Text).Tok.Text = text
		return syntax.Attrs(syntax.Bind("a", s))
	}
	unparenthesized := syntax.Attrs(syntax.Bind("a", &syntax.Apply{Fn: syntax.Id("f"), Arg: syntax.Op(syntax.IntLit(1), syntax.PLUS, syntax.IntLit(2))}))
	rawPath := syntax.Attrs(syntax.Bind("file", syntax.PathLit("./a.age")))
	rawPath.Bindings[0].(*syntax.Attr).Value.(*syntax.PathExpr).Parts[0].(*syntax.Text).Tok.Text = `./a.age + builtins.trace "x" ./b.age`
	for name, e := range map[string]syntax.Expr{
		"carriage return in a comment": rawComment("# admin ops\r]; injected = builtins.readFile /etc/hostname; x = [ #"),
		"quote in string text":         rawText(`a"; injected = 1; b = "`),
		"interpolation in string text": rawText(`${builtins.currentTime}`),
		"missing parentheses":          unparenthesized,
		"path text that is code":       rawPath,
	} {
		t.Run(name, func(t *testing.T) {
			out, parsed, err := printFile("secrets/secrets.nix", syntax.NewFile(e))
			if !errors.Is(err, ErrRoundTrip) {
				t.Fatalf("printFile = %q, %v; want ErrRoundTrip", out, err)
			}
			if out != nil || parsed != nil {
				t.Errorf("printFile returned bytes or a tree with its error")
			}
			if !strings.HasPrefix(err.Error(), "secrets/secrets.nix: internal error") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestRoundTripGuardAccepts checks the guard on a tree the constructors
// build, comments and all.
func TestRoundTripGuardAccepts(t *testing.T) {
	e := syntax.Attrs(
		syntax.WithComment(syntax.Bind("a", syntax.Str("x\r\ny ${z} '' \\")), "one\rtwo"),
		syntax.Bind("b", syntax.Call(syntax.Ref("builtins.f"), syntax.Op(syntax.IntLit(1), syntax.PLUS, syntax.IntLit(-2)))),
		syntax.Bind("c", syntax.PathLit("../../secrets/a.age")),
	)
	if _, _, err := printFile("x.nix", syntax.NewFile(e)); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateRefusesMismatch makes the printer write something other
// than the tree (a binding added after the host's module) and checks that
// Generate fails with ErrRoundTrip and returns no file at all.
func TestGenerateRefusesMismatch(t *testing.T) {
	defer func(p func(io.Writer, syntax.Node) error) { printNode = p }(printNode)
	printNode = func(w io.Writer, n syntax.Node) error {
		var b bytes.Buffer
		if err := format.Node(&b, n); err != nil {
			return err
		}
		out := b.Bytes()
		if f := n.(*syntax.File); f.Expr != nil {
			out = bytes.Replace(out, []byte("x = 1;"), []byte("x = 1; injected = builtins.readFile /etc/hostname;"), 1)
		}
		_, err := w.Write(out)
		return err
	}
	files, err := Generate(&Fleet{Hosts: []Host{{Name: "db", NixOS: map[string]any{"x": 1}}}})
	if !errors.Is(err, ErrRoundTrip) {
		t.Fatalf("Generate = %v; want ErrRoundTrip", err)
	}
	if files != nil {
		t.Errorf("Generate returned %d files with its error", len(files))
	}
	if want := "hosts/db.nix: internal error"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

// TestShapeWalker checks that the walker sameTree compares with gives a
// tree's shape item by item as appendShape gives it whole, on generated
// files (comments, strings, paths, lists, nested sets), and that a
// walker reused for another tree starts afresh.
func TestShapeWalker(t *testing.T) {
	files, err := Generate(&Fleet{Hosts: []Host{{Name: "db", Comment: []string{"Host db.", "", "A database."},
		NixOS: map[string]any{"a": map[string]any{"b": []any{"x\n${y}", int64(1)}, "c.d": true}, "e": "f"}}}})
	if err != nil {
		t.Fatal(err)
	}
	l := syntax.ListOf(syntax.Str("k"))
	l.Open.Leading = append(l.Open.Leading, syntax.Token{Kind: syntax.BLOCKCOMMENT, Text: "/* b */"}, syntax.Token{Kind: syntax.SPACE, Text: " "})
	trees := map[string]syntax.Node{"built": syntax.NewFile(syntax.Attrs(syntax.Bind("k", l)))}
	for _, f := range files {
		tree, errs := syntax.Parse(f.Path, f.Data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f.Path, errs[0])
		}
		trees[f.Path] = tree
	}
	w := new(shapeWalker)
	for name, tree := range trees {
		want := appendShape(nil, tree)
		w.reset(tree)
		w.next() // the next reset drops what is left
		w.reset(tree)
		var got []shapeItem
		for it, ok := w.next(); ok; it, ok = w.next() {
			got = append(got, it)
		}
		if len(want) < 10 || !slices.Equal(got, want) {
			t.Errorf("%s: walker gives %d items, appendShape %d (equal: %v)", name, len(got), len(want), slices.Equal(got, want))
		}
	}
}
