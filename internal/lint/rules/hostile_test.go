package rules_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// Hostile shapes: inputs built to make a quadratic step show. Each takes
// a size; sizes of nesting shapes stay within what Nix 2.8 parses.
var hostileShapes = []struct {
	name  string
	sizes []int
	gen   func(n int) string
}{
	{"binary", []int{1 << 16, 1 << 17}, func(n int) string {
		rng := rand.New(rand.NewSource(1))
		b := make([]byte, n)
		rng.Read(b)
		return string(b)
	}},
	{"call-args", []int{20000, 40000, 80000}, func(n int) string { return "{ f, x }: f" + strings.Repeat(" x", n) + "\n" }},
	{"nested-let", []int{1500, 3000}, func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "let a%d = %d; in\n", i, i)
		}
		return b.String() + "a0\n"
	}},
	{"nested-list", []int{2400, 4800}, func(n int) string { return strings.Repeat("[\n", n) + strings.Repeat("]\n", n) }},
	{"nested-paren", []int{4900, 9800}, func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\n" }},
	{"nested-lambda", []int{2400, 4800}, func(n int) string { return strings.Repeat("x: ", n) + "x\n" }},
	{"nested-with", []int{1600, 3200}, func(n int) string {
		return strings.Repeat("with {}; ", n) + "[" + strings.Repeat(" y", n) + " ]\n"
	}},
	{"nested-attrs", []int{1200, 2400}, func(n int) string { return strings.Repeat("{ a = ", n) + "1" + strings.Repeat("; }", n) + "\n" }},
	{"nested-if", []int{900, 1800}, func(n int) string { return strings.Repeat("if true then 1 else ", n) + "1\n" }},
	{"minus-chain", []int{20000, 40000, 80000}, func(n int) string { return strings.Repeat("1 - ", n) + "1\n" }},
	{"bindings", []int{20000, 40000}, func(n int) string {
		var b strings.Builder
		b.WriteString("{\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  a%d.b = %d;\n", i, i)
		}
		return b.String() + "}\n"
	}},
	{"long-string", []int{1 << 18, 1 << 19}, func(n int) string {
		return "{ x }: [\n  \"" + strings.Repeat("a\\n\\${", n/8) + "\"\n  ''" + strings.Repeat("b''$\n", n/8) + "''\n]\n"
	}},
	{"list-elems", []int{40000, 80000}, func(n int) string { return "[" + strings.Repeat(" 1", n) + " ]\n" }},
	{"interpolations", []int{20000, 40000}, func(n int) string {
		return "{ x }: \"" + strings.Repeat("a${x}", n) + "\"\n"
	}},
	{"attr-path", []int{20000, 40000}, func(n int) string { return "{ " + strings.Repeat("a.", n) + "a = 1; }\n" }},
	{"formals", []int{2400, 4800}, func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "a%d, ", i)
		}
		return b.String() + "... }: a0\n"
	}},
	{"deep-scope-refs", []int{20000, 40000}, func(n int) string {
		return strings.Repeat("x: ", 4000) + "[" + strings.Repeat(" builtins.map map y", n) + " ]\n"
	}},
	{"repeated-keys", []int{10000, 20000}, func(n int) string {
		var b strings.Builder
		b.WriteString("{\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  a.k%d = %d;\n", i, i)
		}
		return b.String() + "}\n"
	}},
	{"mkif-chain", []int{5000, 10000}, func(n int) string {
		return "{ lib, x }: { a = " + strings.Repeat("lib.mkIf true ", n) + "x; b = [ ] ++ " + strings.Repeat("[ ] ++ ", n) + "x; }\n"
	}},
}

// BenchmarkHostile parses, formats and lints each hostile shape at two or
// three sizes, each twice the one before: linear growth shows as the same
// MB/s at every size and twice the ns/op. On a shared machine, wall time
// follows the load; cpu-ns/op (the process's CPU time, the collector's
// included) is the figure to compare.
//
//	go test -run '^$' -bench Hostile -benchtime 3x -cpu 1 ./internal/lint/rules/
func BenchmarkHostile(b *testing.B) {
	for _, s := range hostileShapes {
		for _, n := range s.sizes {
			src := []byte(s.gen(n))
			run := func(phase string, f func()) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", s.name, n, phase), func(b *testing.B) {
					b.SetBytes(int64(len(src)))
					b.ReportAllocs()
					c0 := cpuTime()
					for b.Loop() {
						f()
					}
					if c := cpuTime(); c > 0 {
						b.ReportMetric(float64(c-c0)/float64(b.N), "cpu-ns/op")
					}
				})
			}
			run("parse", func() { syntax.Parse("hostile.nix", src) })
			run("format", func() { format.Source(src) })
			run("lint", func() { lint.Run(rules.All, []*lint.File{lint.Parse("hostile.nix", src)}) })
		}
	}
}
