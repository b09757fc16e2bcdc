package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileValues are shapes of a host's free-form nixos value built to make
// a step of loading, checking or generating cost more than its size: each
// takes a size n and returns CUE source added to the fuzz pipeline's
// fleet (pipelineBase).
var hostileValues = []struct {
	name  string
	sizes []int
	gen   func(n int) string
}{
	// Nothing added: the cost of the fleet itself, to subtract.
	{"none", []int{0}, func(int) string { return "" }},
	// Structs nested n deep, written as CUE nests them: {a: {a: …}}.
	{"deep-structs", []int{450, 900}, func(n int) string {
		return "hosts: web: nixos: x: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n"
	}},
	// A label chain a: a: … of n labels, one field per level.
	{"long-path", []int{450, 900}, func(n int) string {
		return "hosts: web: nixos: x: " + strings.Repeat("a: ", n) + "1\n"
	}},
	// Lists nested n deep.
	{"deep-lists", []int{450, 900}, func(n int) string {
		return "hosts: web: nixos: x: " + strings.Repeat("[", n) + "1" + strings.Repeat("]", n) + "\n"
	}},
	// One string of n bytes, with characters Nix must escape.
	{"long-string", []int{1 << 19, 1 << 20}, func(n int) string {
		return "hosts: web: nixos: environment: etc: motd: text: \"" + strings.Repeat("a${\\\"\\n", n/8) + "\"\n"
	}},
	// n attributes in one set.
	{"many-attrs", []int{2500, 5000, 10000}, func(n int) string {
		var b strings.Builder
		b.WriteString("hosts: web: nixos: environment: variables: {\n")
		for i := range n {
			fmt.Fprintf(&b, "\tV%d: \"%d\"\n", i, i)
		}
		return b.String() + "}\n"
	}},
	// A string built by a chain of n concatenations.
	{"concat-chain", []int{1000, 2000}, func(n int) string {
		return "hosts: web: nixos: environment: etc: motd: text: \"a\"" + strings.Repeat(" + \"a\"", n) + "\n"
	}},
}

// hostileBase completes the fuzz pipeline's fleet so that it loads: its
// host has a boot loader and its user a way to log in.
const hostileBase = `hosts: web: hardware: boot: loader: "none"
users: alice: sshKeys: laptop: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTestOnlyNotReal000000000002 alice"
`

// BenchmarkHostileLoad loads, checks and generates (in memory, with the
// emitter's round-trip check) the fuzz pipeline's fleet with each hostile
// value at two sizes, the second twice the first: linear growth shows as
// twice the cpu-ns/op (the process's CPU time, which a shared machine's
// load does not inflate as it does wall time).
//
//	go test -run '^$' -bench HostileLoad -benchtime 3x -cpu 1 ./fleet/
func BenchmarkHostileLoad(b *testing.B) {
	dir := pipelineDir(b)
	for _, s := range hostileValues {
		for _, n := range s.sizes {
			src := []byte(pipelineBase + hostileBase + s.gen(n))
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				b.ReportAllocs()
				c0 := cpuTime()
				for b.Loop() {
					fl, err := Load(context.Background(), &Config{Dir: dir, NixOS: true,
						Overlay: map[string][]byte{filepath.Join(dir, "fleet.cue"): src}})
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := fl.files(""); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
