package syntax

import (
	"bytes"
	"fleetnix.dev/fleet/internal/diag"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestRoundTrip checks print(parse(src)) == src for every corpus case,
// valid or not, and for truncations of each, which are mostly invalid.
func TestRoundTrip(t *testing.T) {
	for _, f := range readCorpus(t).Files {
		srcs := []string{string(f.Data), wrap(string(f.Data))}
		for i := 0; i < len(f.Data); i += 7 {
			srcs = append(srcs, string(f.Data[:i]))
		}
		for _, src := range srcs {
			file, _ := Parse(f.Name, []byte(src))
			var b bytes.Buffer
			n, err := file.WriteTo(&b)
			if err != nil || b.String() != src || n != int64(len(src)) {
				t.Errorf("%s: round trip of %q gave %q (n=%d, err=%v)", f.Name, src, b.String(), n, err)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		want []string // substrings of the errors, in order
	}{
		{"{\n  networking.hostName = \"p620\"\n  networking.domain = \"home\";\n}\n",
			[]string{"3:3: expected `;` after the value of `networking.hostName`, found identifier `networking`"}},
		{"{ a = 1; a = 2; }", []string{"1:10: attribute `a` already defined at 1:3"}},
		{"{ a = ; b = 1 c = 2; d = [ 1 ; }", []string{
			"1:7: expected an expression, found `;`",
			"1:17: expected `;` after the value of `b`, found `=`",
			"1:30: expected `]` to close the list, found `;`",
		}},
		{"let a = 1;", []string{"1:11: expected `in` after the bindings of `let`, found end of file"}},
		{"[ 1 -1 ]", []string{"1:5: expected `]` to close the list, found `-`; list elements that are not simple expressions need parentheses"}},
		{"a == b == c", []string{"1:8: operator `==` is not associative: add parentheses"}},
		{"a < b > c", []string{"1:7: operator `>` is not associative"}},
		{"./a/", []string{"1:5: path has a trailing slash"}},
		{"./a//b", []string{"expected `${` in the path"}},
		{"9223372036854775808", []string{"1:1: invalid integer `9223372036854775808`"}},
		{"1.0e999", []string{"1:1: invalid float `1.0e999`"}},
		{"let ${a} = 1; in a", []string{"1:1: dynamic attributes not allowed in let"}},
		{"{ inherit ${a}; }", []string{"1:11: dynamic attributes not allowed in inherit"}},
		{"{ a, a }: 1", []string{"1:6: duplicate formal function argument `a`"}},
		{"a @ { a }: 1", []string{"1:1: duplicate formal function argument `a`"}},
		{"\"abc", []string{"1:1: string not terminated: expected `\"`"}},
		{"''abc", []string{"1:1: string not terminated: expected `''`"}},
		{"1 /* x", []string{"1:3: comment not terminated"}},
		{"a % b", []string{"1:3: unexpected character \"%\""}},
		{"{ a = 1; } }", []string{"1:12: unexpected `}` after the end of the expression"}},
		{"{ a.1 = 2; }", []string{"1:4: expected `=` after `a`, found number `.1`"}},
		{"{ a. = 2; }", []string{"1:6: expected an attribute name after `.`, found `=`"}},
		{"{ a }", []string{"expected `:` before the body of the function"}},
		{"if a then b", []string{"expected `else` after the `then` branch of `if`, found end of file"}},
		{"(a", []string{"expected `)` to close `(`, found end of file"}},
		{"\"a${b c ;}d\"", []string{"1:9: expected `}` to close `${`, found `;`"}},
		{"{ ..., a }: 1", []string{"expected `}` after `...`, which must come last"}},
		{"a |> f", []string{"unexpected character \"|\""}},
		{"1 + let a = 1; in a", []string{"expected `{` after `let` here"}},
	}
	for _, tt := range tests {
		_, errs := Parse("x.nix", []byte(tt.src))
		errs = syntaxErrors(errs)
		var got []string
		for _, e := range errs {
			got = append(got, fmt.Sprintf("%d:%d: %s", e.Range.Start.Line, e.Range.Start.Col, e.Summary))
		}
		if len(got) < len(tt.want) {
			t.Errorf("%q: got errors %q, want at least %q", tt.src, got, tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%q: error %d is %q, want it to contain %q (all: %q)", tt.src, i, got[i], w, got)
			}
		}
		if errs[0].Range.File != "x.nix" {
			t.Errorf("%q: error names file %q", tt.src, errs[0].Range.File)
		}
	}
}

func TestPipes(t *testing.T) {
	for _, src := range []string{"a |> f |> g", "g <| f <| a", "(a |> f) <| g"} {
		f, errs := ParseMode("p.nix", []byte(src), PipeOperators)
		if errs = syntaxErrors(errs); len(errs) > 0 {
			t.Errorf("%q: %v", src, errs)
			continue
		}
		var b bytes.Buffer
		if err := Show(&b, f.Expr, ShowOptions{}); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"a |> f |> g":   "(g (f a))",
			"g <| f <| a":   "(g (f a))",
			"(a |> f) <| g": "(f a g)",
		}[src]
		if b.String() != want {
			t.Errorf("%q shows %q, want %q", src, b.String(), want)
		}
	}
	if _, errs := ParseMode("p.nix", []byte("a |> f <| g"), PipeOperators); len(syntaxErrors(errs)) == 0 {
		t.Errorf("mixing |> and <| was accepted")
	}
}

func TestPositions(t *testing.T) {
	src := "{\n  a = [ 1 2 ];\n  b = \"x${y}\";\n}\n"
	f, errs := ParseIn("p.nix", []byte(src), "y")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set := f.Expr.(*AttrSet)
	a := set.Bindings[0].(*Attr)
	if r := f.Range(a); r.Start.Line != 2 || r.Start.Col != 3 || r.End.Line != 2 || r.End.Col != 15 {
		t.Errorf("range of a: %+v", r)
	}
	if got := string(Bytes(a.Value)); got != " [ 1 2 ]" {
		t.Errorf("value text %q", got)
	}
	list := a.Value.(*List)
	if p := f.Position(list.Elems[1].Pos()); p.Line != 2 || p.Col != 11 || p.Offset != 12 {
		t.Errorf("position of 2: %+v", p)
	}
	if set.End().Offset() != len(src)-1 {
		t.Errorf("set ends at %d", set.End().Offset())
	}
	var kinds []string
	Inspect(f, func(n Node) bool {
		kinds = append(kinds, fmt.Sprintf("%T", n))
		return true
	})
	want := "*syntax.File *syntax.AttrSet *syntax.Attr *syntax.AttrPath *syntax.Ident *syntax.List *syntax.Int *syntax.Int *syntax.Attr *syntax.AttrPath *syntax.Ident *syntax.String *syntax.Text *syntax.Interpolation *syntax.Ident"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("Inspect order:\n got %s\nwant %s", got, want)
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "a", `a"b\c`, "${x}", "$${x}", "$", "a$", "\n\r\t", "''", "é\x00\xff", "\\${", "$\\"} {
		q := Quote(s)
		got, err := Unquote(q)
		if err != nil || got != s {
			t.Errorf("Unquote(Quote(%q)) = %q, %v (quoted %s)", s, got, err, q)
		}
	}
	tests := []struct{ lit, want string }{
		{`"a\qb"`, "aqb"},
		{"\"a\r\nb\"", "a\nb"},
		{`"$${x}"`, "$${x}"},
		{"''\n  a\n   b\n''", "a\n b\n"},
		{"'' a''$b'''c''\\nd''", "a$b''c\nd"},
		{"'' ''\\'''${x}''", "'${x}"},
		{"''\n\ta\n''", "\ta\n"},
	}
	for _, tt := range tests {
		got, err := Unquote(tt.lit)
		if err != nil || got != tt.want {
			t.Errorf("Unquote(%q) = %q, %v; want %q", tt.lit, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"a${b}"`, `"a" + "b"`, `x`, `"abc`, ` "a"`} {
		if _, err := Unquote(bad); err == nil {
			t.Errorf("Unquote(%q) succeeded", bad)
		}
	}
	for _, s := range []string{"a\nb\n", "x = ${y}; ''\n", "one line", "a\n\nb"} {
		q, ok := QuoteIndented(s, 4)
		if !ok {
			t.Errorf("QuoteIndented(%q) refused", s)
			continue
		}
		if got, err := Unquote(q); err != nil || got != s {
			t.Errorf("Unquote(QuoteIndented(%q)) = %q, %v (%s)", s, got, err, q)
		}
	}
	if _, ok := QuoteIndented("  leading", 2); ok {
		t.Errorf("QuoteIndented accepted leading spaces")
	}
}

// TestCheckMatchesLower keeps the checker Parse runs and the lowering
// Show uses in step: on every corpus case, and every case wrapped in a
// set and a let, they report errors at the same places.
func TestCheckMatchesLower(t *testing.T) {
	for _, f := range readCorpus(t).Files {
		for _, src := range []string{string(f.Data), "{ x = " + string(f.Data) + "\n; }", "let x = " + string(f.Data) + "\n; in x"} {
			file, errs := Parse(f.Name, []byte(src))
			syntaxOnly := len(errs)
			// Count the checker's errors by re-running it alone.
			var checked, lowered []string
			p := &parser{f: file}
			checkSemantics(file, p)
			for _, e := range p.syntaxErrs.kept {
				checked = append(checked, fmt.Sprintf("%d", e.Range.Start.Offset))
			}
			l := &lowerer{base: "/", home: "/", file: file, errorf: func(n Node, format string, args ...any) {
				if n.Pos().IsValid() {
					lowered = append(lowered, fmt.Sprintf("%d", n.Pos().Offset()))
				} else {
					lowered = append(lowered, "?")
				}
			}}
			l.lower(file.Expr)
			if syntaxOnly > 0 && len(checked) == 0 && len(lowered) == 0 {
				continue
			}
			if strings.Join(dedupe(checked), ",") != strings.Join(dedupe(lowered), ",") {
				t.Errorf("%s: checker errors at %v, lowering errors at %v\n%s", f.Name, checked, lowered, src)
			}
		}
	}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// syntaxErrors drops undefined-variable errors, for tests of the grammar
// that use free variables.
func syntaxErrors(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if !strings.HasPrefix(d.Summary, "undefined variable") {
			out = append(out, d)
		}
	}
	return out
}

// TestErrorCap checks that a file with an error on every byte reports the
// first MaxErrors errors and then one saying there were more, and that
// undefined variables are counted apart from syntax errors.
func TestErrorCap(t *testing.T) {
	garbage := make([]byte, 1<<16)
	for i := range garbage {
		garbage[i] = byte(0x80 + i%64)
	}
	_, errs := Parse("bin.nix", garbage)
	if len(errs) != MaxErrors+1 {
		t.Fatalf("%d errors, want %d", len(errs), MaxErrors+1)
	}
	last := errs[len(errs)-1]
	if !strings.HasPrefix(last.Summary, "too many errors") || last.Range.Start.Offset < errs[len(errs)-2].Range.Start.Offset {
		t.Errorf("last error %v, want too many errors after the others", last)
	}
	for i, e := range errs[:MaxErrors] {
		if e.Range.Start.Offset != i {
			t.Errorf("error %d at offset %d, want the first errors by position", i, e.Range.Start.Offset)
		}
	}

	var src strings.Builder
	src.WriteString("[ ")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&src, "u%d ", i)
	}
	src.WriteString("(1 + ) ]")
	_, errs = Parse("undef.nix", []byte(src.String()))
	var syntax, undef int
	for _, e := range errs {
		if e.Code == UndefinedVariable {
			undef++
		} else {
			syntax++
		}
	}
	if syntax != 1 || undef != MaxErrors+1 {
		t.Errorf("%d syntax errors and %d undefined-variable errors, want 1 and %d:\n%v", syntax, undef, MaxErrors+1, errs)
	}
}

// TestLargeFile checks a file of more tokens and trivia than the scanner
// reserves room for (reserveMax): it prints back as it was read, and
// every element keeps its own comment and position.
func TestLargeFile(t *testing.T) {
	var src strings.Builder
	src.WriteString("[\n")
	const n = 3 * reserveMax
	for i := range n {
		fmt.Fprintf(&src, "  # c%d\n  %d\n", i, i)
	}
	src.WriteString("]\n")
	file, errs := Parse("big.nix", []byte(src.String()))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	var b bytes.Buffer
	if _, err := file.WriteTo(&b); err != nil || b.String() != src.String() {
		t.Fatalf("round trip differs (%v)", err)
	}
	l, ok := file.Expr.(*List)
	if !ok || len(l.Elems) != n {
		t.Fatalf("parsed %T, want a list of %d", file.Expr, n)
	}
	for _, i := range []int{0, 1, reserveMax - 1, reserveMax, n - 1} {
		tok := l.Elems[i].(*Int).Tok
		var comments []string
		for _, tr := range tok.Leading {
			if tr.Kind == LINECOMMENT {
				comments = append(comments, tr.Text)
			}
		}
		if tok.Text != fmt.Sprint(i) || len(comments) != 1 || comments[0] != fmt.Sprintf("# c%d", i) {
			t.Errorf("element %d: %q with comments %q", i, tok.Text, comments)
		}
		if want := strings.Index(src.String(), fmt.Sprintf("\n  %d\n", i)) + 4; int(tok.Start) != want {
			t.Errorf("element %d at %d, want %d", i, tok.Start, want)
		}
	}
}
