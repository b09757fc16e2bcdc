package syntax

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// tooDeepIn reports whether Parse stops src as nested too deeply.
func tooDeepIn(src string) bool {
	_, errs := Parse("deep.nix", []byte(src))
	for _, e := range errs {
		if strings.Contains(e.Summary, "nested too deeply") {
			return true
		}
	}
	return false
}

// maxDepth returns the largest n for which gen(n) is not too deep.
func maxDepth(gen func(n int) string, hi int) int {
	lo := 0
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if tooDeepIn(gen(mid)) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

// depthShapes are nestings with the deepest that Nix 2.8 parses, found
// by bisection with nix-instantiate --parse (its stack holds 10,000
// items; each shape takes its own number of items a level).
var depthShapes = []struct {
	name string
	gen  func(n int) string
	nix  int
}{
	{"list", func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }, 4998},
	{"paren", func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }, 9995},
	{"let", func(n int) string { return strings.Repeat("let a = 1; in ", n) + "a" }, 3331},
	{"lambda", func(n int) string { return strings.Repeat("x: ", n) + "x" }, 4998},
	{"formals", func(n int) string { return strings.Repeat("{ x }: ", n) + "x" }, 2496},
	{"attrs", func(n int) string { return strings.Repeat("{ a = ", n) + "1" + strings.Repeat("; }", n) }, 2496},
	{"rec", func(n int) string { return strings.Repeat("rec { a = ", n) + "1" + strings.Repeat("; }", n) }, 1999},
	{"concat", func(n int) string { return strings.Repeat("[] ++ ", n-1) + "[]" }, 4998},
	{"implication", func(n int) string { return strings.Repeat("true -> ", n-1) + "true" }, 4999},
	{"negation", func(n int) string { return strings.Repeat("-", n) + "1" }, 9996},
	{"if-then", func(n int) string { return strings.Repeat("if true then ", n) + "1" + strings.Repeat(" else 1", n) }, 3331},
	{"if-else", func(n int) string { return strings.Repeat("if true then 1 else ", n) + "1" }, 1999},
	{"interpolation", func(n int) string { return strings.Repeat(`"${`, n) + `"x"` + strings.Repeat(`}"`, n) }, 4997},
	{"indented", func(n int) string { return strings.Repeat("''${", n) + `"x"` + strings.Repeat("}''", n) }, 3331},
	{"with", func(n int) string { return strings.Repeat("with {}; ", n) + "1" }, 3325},
	{"assert", func(n int) string { return strings.Repeat("assert true; ", n) + "1" }, 3332},
	{"select-or", func(n int) string { return strings.Repeat("{}.a or ", n) + "1" }, 2499},
	// Nix 2.8's formals are right-recursive: a long list of them nests.
	{"formal list", func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "a%d, ", i)
		}
		return b.String() + "}: 1"
	}, 4997},
}

// TestDepthLimits checks that Parse stops each nesting exactly where
// Nix 2.8 does, with an error at a position, and that what Nix parses
// parses.
func TestDepthLimits(t *testing.T) {
	for _, s := range depthShapes {
		if tooDeepIn(s.gen(s.nix)) {
			t.Errorf("%s: Parse refuses %d levels, which Nix 2.8 parses", s.name, s.nix)
		}
		src := s.gen(s.nix + 1)
		f, errs := Parse("deep.nix", []byte(src))
		if len(errs) == 0 || !errs[0].Range.Start.IsValid() || !strings.Contains(errs[0].Summary, "nested too deeply") {
			t.Errorf("%s: errors %v, want one nesting error with a position", s.name, errs)
		}
		if got := string(Bytes(f)); got != src {
			t.Errorf("%s: the tree of a too-deep file does not print back its source", s.name)
		}
	}
}

// depthWrappers are constructs that can hold an expression, as a prefix
// and a suffix around it; TestDepthOracle nests random sequences of them.
var depthWrappers = [][2]string{
	{"(", ")"}, {"[ (", ") ]"}, {"x: ", ""}, {"{ x }: ", ""}, {"{ x ? 1, y }: ", ""}, {"a@{ x }: ", ""},
	{"{ x }@a: ", ""}, {"let a = 1; in ", ""}, {"let a = ", "; in a"}, {"with {}; ", ""},
	{"assert true; ", ""}, {"if true then ", " else 1"}, {"if true then 1 else ", ""}, {"if ", " then 1 else 1"},
	{"{ a = ", "; }"}, {"rec { a = ", "; }"}, {"{ a.b = ", "; }"}, {`{ "a" = `, "; }"}, {`{ ${"a"} = `, "; }"},
	{"{ inherit (", ") a; }"}, {`"${`, `}"`}, {`"x${`, `}"`}, {"''${", "}''"}, {"''x ${", "}''"},
	{"./a/${", "}"}, {"!(", ")"}, {"-(", ")"}, {"(", ") ++ []"}, {"[] ++ (", ")"}, {"1 + (", ")"},
	{"(x: x) (", ")"}, {"{}.a or (", ")"}, {"{ a ? ", " }: a"}, {"(", ").a"}, {"true -> (", ")"},
	{"let { body = ", "; }"}, {"{ b = {}; a = ", "; }"}, {"[ 1 (", ") 2 ]"},
}

var depthCores = []string{"1", "{ }", "{ a = 1; }", "x: x", "[ ]", `"s"`, "./p", "{ x, y }: x", "{}.a"}

// TestDepthOracle nests random sequences of constructs as deeply as Parse
// allows and checks with nix-instantiate --parse that Nix parses that
// depth and fails one level deeper.
func TestDepthOracle(t *testing.T) {
	requireNix(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(166))
	cases := 40
	if testing.Short() {
		cases = 8
	}
	for i := 0; i < cases; i++ {
		k := 1 + rng.Intn(3)
		var ws [][2]string
		for j := 0; j < k; j++ {
			ws = append(ws, depthWrappers[rng.Intn(len(depthWrappers))])
		}
		core := depthCores[rng.Intn(len(depthCores))]
		gen := func(n int) string {
			var b strings.Builder
			for r := 0; r < n; r++ {
				b.WriteString(ws[r%len(ws)][0])
			}
			b.WriteString(core)
			for r := n - 1; r >= 0; r-- {
				b.WriteString(ws[r%len(ws)][1])
			}
			return b.String()
		}
		n := maxDepth(gen, 10000)
		name := fmt.Sprintf("%q around %q", ws, core)
		for _, c := range []struct {
			n  int
			ok bool
		}{{n, true}, {n + 1, false}} {
			v, err := nixVerdict(dir, gen(c.n))
			if err != nil {
				t.Fatal(err)
			}
			if v.ok != c.ok || !v.ok && !strings.Contains(v.out, "memory exhausted") {
				t.Errorf("%s, %d levels: Parse says ok=%v, Nix says %v", name, c.n, c.ok, v)
			}
		}
	}
}
