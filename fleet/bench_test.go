package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"

	"fleetnix.dev/fleet/fleet"
)

// writeBenchFleet writes, under dir, a fleet of n hosts shaped like the
// reference fleet: the reference templates, hardware and home profiles,
// users and secrets, and n hosts cloned round-robin from its five hosts.
// As in the reference fleet, one host (p620) is the binary cache and one
// (dex5550) the monitoring server: their clones are plain hosts of their
// template, which report to dex5550 and use p620's cache.
func writeBenchFleet(t testing.TB, dir string, n int) {
	writeFleet(t, dir, n, false)
}

// writeDistinctFleet writes a fleet like writeBenchFleet's in which no two
// hosts share a value of an enabled feature group, as far as the group's
// options allow (the groups of booleans only, cloud, programs and
// virtualization, have 16, 128 and 128 values here), nor an address.
func writeDistinctFleet(t testing.TB, dir string, n int) {
	writeFleet(t, dir, n, true)
}

// distinctPaths are the fields of a host distinctValues sets.
var distinctPaths = func() [][]string {
	out := [][]string{{"deploy", "targetHost"}}
	for _, l := range []string{"go", "java", "lua", "nix", "nodejs", "python", "rust", "shell"} {
		out = append(out, []string{"features", "development", "languages", l})
	}
	for _, l := range []string{"ansible", "cargo", "copilotCli", "devshell", "github", "preCommit", "specKit"} {
		out = append(out, []string{"features", "development", "tools", l})
	}
	for _, l := range []string{"aws", "azure", "google", "terraform"} {
		out = append(out, []string{"features", "cloud", l})
	}
	for _, l := range []string{"lazygit", "thunderbird", "obsidian", "office", "webcam", "print", "ytX"} {
		out = append(out, []string{"features", "programs", l})
	}
	for _, p := range [][]string{{"spice"}, {"sunshine"}, {"incus"}, {"docker", "rootless"}, {"docker", "autoPrune"},
		{"podman", "autoPrune"}, {"libvirt", "swtpm"}} {
		out = append(out, append([]string{"features", "virtualization"}, p...))
	}
	return append(out, []string{"features", "monitoring", "ports", "node"}, []string{"features", "power", "battery", "device"},
		[]string{"features", "media", "tautulli", "port"})
}()

// distinctValues returns what makes host i of a distinct fleet differ
// from every other: a value in each of its feature groups.
func distinctValues(name string, i int) string {
	bit := func(k int) bool { return i>>k&1 == 1 }
	var b strings.Builder
	fmt.Fprintf(&b, "hosts: %q: {\n", name)
	fmt.Fprintf(&b, "\tdeploy: targetHost: %q\n", name+".bench.example.com")
	b.WriteString("\tfeatures: {\n")
	dev := []string{"go", "java", "lua", "nix", "nodejs", "python", "shell"}
	tools := []string{"ansible", "cargo", "copilotCli", "devshell", "github", "preCommit", "specKit"}
	b.WriteString("\t\tdevelopment: {\n\t\t\tlanguages: {rust: true")
	for k, l := range dev {
		fmt.Fprintf(&b, ", %s: %v", l, bit(k))
	}
	b.WriteString("}\n\t\t\ttools: {")
	for k, l := range tools {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %v", l, bit(len(dev)+k))
	}
	b.WriteString("}\n\t\t}\n")
	fmt.Fprintf(&b, "\t\tcloud: {aws: %v, azure: %v, google: %v, terraform: %v}\n", bit(0), bit(1), bit(2), bit(3))
	fmt.Fprintf(&b, "\t\tprograms: {lazygit: %v, thunderbird: %v, obsidian: %v, office: %v, webcam: %v, print: %v, ytX: %v}\n",
		bit(0), bit(1), bit(2), bit(3), bit(4), bit(5), bit(6))
	fmt.Fprintf(&b, "\t\tvirtualization: {spice: %v, sunshine: %v, incus: %v, docker: {rootless: %v, autoPrune: %v}, podman: autoPrune: %v, libvirt: swtpm: %v}\n",
		bit(0), bit(1), bit(2), bit(3), bit(4), bit(5), bit(6))
	fmt.Fprintf(&b, "\t\tai: ollama: models: \"bench-%d\": true\n", i)
	fmt.Fprintf(&b, "\t\tsecurity: sshHardening: fail2ban: ignore: \"10.%d.%d.1\": true\n", i/256%256, i%256)
	fmt.Fprintf(&b, "\t\tmonitoring: ports: node: %d\n", 20000+i)
	fmt.Fprintf(&b, "\t\tpower: battery: device: \"BAT%d\"\n", i)
	fmt.Fprintf(&b, "\t\tmedia: tautulli: port: %d\n", 30000+i)
	fmt.Fprintf(&b, "\t\tdesktop: hyprland: bindings: bench: {key: \"code:%d\", dispatcher: \"exec\", arg: \"true\"}\n", 100+i)
	b.WriteString("\t}\n}\n")
	return b.String()
}

func writeFleet(t testing.TB, dir string, n int, distinct bool) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "cue.mod", "pkg"), 0o755))
	mod, err := os.ReadFile(filepath.Join(repoRoot, "cue.mod", "module.cue"))
	must(err)
	must(os.WriteFile(filepath.Join(dir, "cue.mod", "module.cue"), mod, 0o644))
	abs, err := filepath.Abs(filepath.Join(repoRoot, "schema"))
	must(err)
	must(os.MkdirAll(filepath.Join(dir, "cue.mod", "pkg", "fleetnix.dev", "fleet"), 0o755))
	must(os.Symlink(abs, filepath.Join(dir, "cue.mod", "pkg", "fleetnix.dev", "fleet", "schema")))
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.cue"))
	must(err)
	var hosts []*ast.Field
	for _, f := range files {
		src, err := os.ReadFile(f)
		must(err)
		if filepath.Base(f) != "hosts.cue" {
			must(os.WriteFile(filepath.Join(dir, filepath.Base(f)), src, 0o644))
			continue
		}
		file, err := parser.ParseFile(f, src, parser.ParseComments)
		must(err)
		for _, d := range file.Decls {
			hosts = append(hosts, hostFields(d)...)
		}
	}
	if len(hosts) == 0 {
		t.Fatal("no hosts found in the reference hosts.cue")
	}
	var b bytes.Buffer
	b.WriteString("package fleet\n\n")
	for i := 0; i < n; i++ {
		ref := hosts[i%len(hosts)]
		name, _, _ := ast.LabelName(ref.Label)
		val, err := format.Node(ref.Value)
		must(err)
		// The first round keeps the reference names, which templates
		// refer to (monitoring.serverHost "dex5550").
		if i >= len(hosts) {
			name = fmt.Sprintf("%s-%04d", name, i)
			clone, err := parser.ParseExpr(name, val, parser.ParseComments)
			must(err)
			deleteField(clone, "nix", "serve")
			deleteField(clone, "features", "monitoring", "role")
			deleteField(clone, "features", "monitoring", "grafana")
			if val, err = format.Node(clone); err != nil {
				t.Fatal(err)
			}
		}
		if distinct {
			// The values distinctValues sets replace the host's own.
			own, err := parser.ParseExpr(name, val, parser.ParseComments)
			must(err)
			for _, p := range distinctPaths {
				deleteField(own, p...)
			}
			if val, err = format.Node(own); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&b, "hosts: %q: %s\n", name, val)
		if distinct {
			b.WriteString(distinctValues(name, i))
		}
	}
	must(os.WriteFile(filepath.Join(dir, "hosts.cue"), b.Bytes(), 0o644))
}

// deleteField removes the field at path from the struct e, following
// nested struct literals (shorthand chains are nested literals too).
func deleteField(e ast.Expr, path ...string) {
	s, ok := e.(*ast.StructLit)
	if !ok {
		return
	}
	for i, d := range s.Elts {
		f, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(f.Label); name != path[0] {
			continue
		}
		if len(path) == 1 {
			s.Elts = append(s.Elts[:i:i], s.Elts[i+1:]...)
			return
		}
		deleteField(f.Value, path[1:]...)
	}
}

// hostFields finds the host fields in a declaration written either as
// `hosts: name: {...}` or `hosts: {name: {...}}`.
func hostFields(d ast.Decl) []*ast.Field {
	f, ok := d.(*ast.Field)
	if !ok {
		return nil
	}
	if name, _, _ := ast.LabelName(f.Label); name != "hosts" {
		return nil
	}
	switch v := f.Value.(type) {
	case *ast.StructLit:
		var out []*ast.Field
		for _, e := range v.Elts {
			if hf, ok := e.(*ast.Field); ok {
				out = append(out, hf)
			}
		}
		return out
	}
	return nil
}

// TestBenchFleetLoads checks the benchmarks' generated fleets are valid
// fleets of the size asked for, the distinct one without two hosts
// sharing a feature group's value where the group has options enough.
// With FLEET_BENCH_DIR set it also leaves a fleet there, to time fleetgen
// and plain `cue export` on the same input: FLEET_BENCH_HOSTS hosts (1000
// by default), distinct when FLEET_BENCH_DISTINCT is set.
func TestBenchFleetLoads(t *testing.T) {
	for _, distinct := range []bool{false, true} {
		dir := t.TempDir()
		n := 12
		if distinct {
			n = 70 // every bit distinctValues varies
		}
		writeFleet(t, dir, n, distinct)
		f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir})
		if err != nil {
			var buf bytes.Buffer
			fleet.PrintErrors(&buf, dir, err)
			t.Fatalf("%v\n%s", err, buf.String())
		}
		if got := len(f.Hosts()); got != n {
			t.Fatalf("loaded %d hosts, want %d", got, n)
		}
		if !distinct {
			continue
		}
		seen := map[string]string{}
		for _, h := range f.Hosts() {
			v, err := h.Value()
			if err != nil {
				t.Fatal(err)
			}
			for group, fv := range v["features"].(map[string]any) {
				if on, _ := fv.(map[string]any)["enable"].(bool); !on || group == "cloud" {
					continue // cloud has 16 values
				}
				b, _ := json.Marshal(fv)
				if other, ok := seen[group+string(b)]; ok {
					t.Errorf("%s and %s share features.%s", other, h.Name, group)
				}
				seen[group+string(b)] = h.Name
			}
		}
	}
	if out := os.Getenv("FLEET_BENCH_DIR"); out != "" {
		n := 1000
		if s := os.Getenv("FLEET_BENCH_HOSTS"); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil {
				t.Fatal(err)
			}
		}
		writeFleet(t, out, n, os.Getenv("FLEET_BENCH_DISTINCT") != "")
		t.Logf("wrote a %d-host fleet to %s", n, out)
	}
}

// BenchmarkLoad measures load + merge + unify + export of fleets of 10,
// 100 and 1000 hosts. It reports the heap in use after the load per host,
// which should stay flat as the fleet grows.
func BenchmarkLoad(b *testing.B) {
	benchLoad(b, false)
}

// BenchmarkLoadCached measures the same loads with every host's
// evaluation already in the cache (Config.CacheDir): a fleet where no host
// changed since the last run, which is what the cache makes common.
func BenchmarkLoadCached(b *testing.B) {
	benchLoad(b, true)
}

// BenchmarkLoadOneChanged measures the edit loop: every host but one is
// in the cache; each load changes another host (a new tag), which alone is
// evaluated again.
func BenchmarkLoadOneChanged(b *testing.B) {
	for _, n := range benchSizes(b, 10, 100, 1000) {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeBenchFleet(b, dir, n)
			abs, err := filepath.Abs(dir)
			if err != nil {
				b.Fatal(err)
			}
			cfg := &fleet.Config{Dir: dir, CacheDir: filepath.Join(b.TempDir(), "cache")}
			if _, err := fleet.Load(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				edit := fmt.Sprintf("package fleet\n\nhosts: p620: tags: \"edit%d\": true\n", i)
				cfg.Overlay = map[string][]byte{filepath.Join(abs, "edit.cue"): []byte(edit)}
				f, err := fleet.Load(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if h := f.Host("p620"); h == nil || !strings.Contains(string(h.JSON()), fmt.Sprintf("edit%d", i)) {
					b.Fatal("the changed host does not have its new value")
				}
			}
		})
	}
}

func benchLoad(b *testing.B, cached bool) {
	for _, n := range benchSizes(b, 10, 100, 1000) {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeFleet(b, dir, n, benchDistinct())
			cfg := &fleet.Config{Dir: dir}
			if cached {
				cfg.CacheDir = filepath.Join(b.TempDir(), "cache")
				if _, err := fleet.Load(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var heap uint64
			for i := 0; i < b.N; i++ {
				f, err := fleet.Load(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				total := 0
				for _, h := range f.Hosts() {
					total += len(h.JSON())
				}
				if total == 0 {
					b.Fatal("empty export")
				}
				b.StopTimer()
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = ms.HeapInuse
				runtime.KeepAlive(f)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/float64(n)/1024, "KiB-heap/host")
		})
	}
}

// loadBenchFleet writes a fleet of n hosts into a new directory and
// loads it with its NixOS configurations.
func loadBenchFleet(b *testing.B, n int) (string, *fleet.Fleet) {
	b.Helper()
	dir := b.TempDir()
	writeBenchFleet(b, dir, n)
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
	if err != nil {
		b.Fatal(err)
	}
	return dir, f
}

// BenchmarkGenerateCheck measures writing the generated tree with its
// source map (Generate with Check: nothing is written) on fleets already
// loaded with their NixOS configurations, and reports the source map's
// size per host.
func BenchmarkGenerateCheck(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir, f := loadBenchFleet(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Generate(fleet.GenerateOptions{Check: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if _, err := f.Generate(fleet.GenerateOptions{}); err != nil {
				b.Fatal(err)
			}
			// The fleet's map and every host's.
			maps, err := filepath.Glob(filepath.Join(dir, "nix", "sourcemap", "*.json"))
			if err != nil || len(maps) != n {
				b.Fatalf("%d host source maps (%v), want %d", len(maps), err, n)
			}
			var size int64
			for _, p := range append(maps, filepath.Join(dir, "nix", "sourcemap.json")) {
				fi, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				size += fi.Size()
			}
			b.ReportMetric(float64(size)/float64(n)/1024, "KiB-map/host")
		})
	}
}

// BenchmarkVetNixOS measures what vet adds to a load with NixOS: the
// generated modules built in memory and checked against the manifest
// (VetNixOS), on fleets already loaded with their NixOS configurations.
func BenchmarkVetNixOS(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			_, f := loadBenchFleet(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.VetNixOS(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSizes returns the fleet sizes a benchmark runs: FLEET_BENCH_HOSTS,
// a comma-separated list ("1000,3000,10000"), or else def.
func benchSizes(b *testing.B, def ...int) []int {
	s := os.Getenv("FLEET_BENCH_HOSTS")
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("FLEET_BENCH_HOSTS: %q is not a number of hosts", f)
		}
		out = append(out, n)
	}
	return out
}

// benchDistinct reports whether the benchmarks' fleets are the distinct
// ones (writeDistinctFleet): FLEET_BENCH_DISTINCT is set.
func benchDistinct() bool { return os.Getenv("FLEET_BENCH_DISTINCT") != "" }

// reportUsage reports the CPU time per operation since start, which on a
// shared machine says more than the wall time, and the process's peak
// resident set so far. The peak is the process's: it is the run's own only
// when the benchmark runs alone in its process (-bench with one size,
// -count=1), as bench.sh in docs/performance.md does.
// profileEdits writes a CPU profile of the timed part of a benchmark to
// the file FLEET_BENCH_CPUPROFILE names (go test's -cpuprofile covers the
// set-up too, which for the edit loop is a whole uncached generation). The
// returned function stops it.
func profileEdits(b *testing.B) func() {
	name := os.Getenv("FLEET_BENCH_CPUPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

func reportUsage(b *testing.B, start usage) {
	end := usageNow(b)
	b.ReportMetric((end.cpu-start.cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(end.maxRSS)/(1<<20), "MiB-peak-rss")
}

// BenchmarkGenerate measures what `fleetgen ./...` does without a cache:
// load with the NixOS configurations, check the modules and write the
// tree, for fleets of 10, 100 and 1000 hosts (FLEET_BENCH_HOSTS), the
// distinct fleet with FLEET_BENCH_DISTINCT. Besides time and allocations
// it reports the CPU time per run and the peak resident set.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes(b, 10, 100, 1000) {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeFleet(b, dir, n, benchDistinct())
			cfg := &fleet.Config{Dir: dir, NixOS: true}
			b.ReportAllocs()
			runtime.GC()
			start := usageNow(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := fleet.Load(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Generate(fleet.GenerateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportUsage(b, start)
			if _, err := os.Stat(filepath.Join(dir, "nix", "flake.nix")); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// edits counts the edits of BenchmarkGenerateOneChanged.
var edits int

// BenchmarkGenerateOneChanged measures the edit loop of `fleetgen ./...`
// with the cache: every host of the fleet (1000 hosts, FLEET_BENCH_HOSTS)
// was generated before; each run changes one host's NixOS value, loads
// and writes the tree again.
func BenchmarkGenerateOneChanged(b *testing.B) {
	for _, n := range benchSizes(b, 1000) {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeFleet(b, dir, n, benchDistinct())
			abs, err := filepath.Abs(dir)
			if err != nil {
				b.Fatal(err)
			}
			cfg := &fleet.Config{Dir: dir, NixOS: true, CacheDir: filepath.Join(b.TempDir(), "cache")}
			gen := func() *fleet.GenerateResult {
				f, err := fleet.Load(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				res, err := f.Generate(fleet.GenerateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				return res
			}
			gen()
			b.ReportAllocs()
			runtime.GC()
			defer profileEdits(b)()
			start := usageNow(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A value of the host's own module, new on every run (the
				// benchmark's rounds run it again with the same cache).
				edits++
				edit := fmt.Sprintf("package fleet\n\nhosts: p620: nixos: environment: etc: \"bench-edit\": text: \"edit %d\"\n", edits)
				cfg.Overlay = map[string][]byte{filepath.Join(abs, "edit.cue"): []byte(edit)}
				res := gen()
				if !slices.Contains(res.Written, filepath.Join(abs, "nix", "hosts", "p620.nix")) {
					b.Fatalf("the edit did not rewrite p620's module: wrote %v", res.Written)
				}
			}
			b.StopTimer()
			reportUsage(b, start)
		})
	}
}

// BenchmarkLintTree measures linting a tree of Nix files and that tree
// copied ten times (LintNix, as `fleetgen lint DIR` outside a CUE module),
// reporting the CPU time and the peak resident set. The tree is
// FLEET_BENCH_LINT_TREE (docs/performance.md says which tree its figures
// used), else the lint rules' own fixtures (89 hand-written files).
func BenchmarkLintTree(b *testing.B) {
	tree := os.Getenv("FLEET_BENCH_LINT_TREE")
	if tree == "" {
		tree = filepath.Join("..", "internal", "lint", "rules", "testdata")
	}
	tree, err := filepath.Abs(tree)
	if err != nil {
		b.Fatal(err)
	}
	for _, copies := range []int{1, 10} {
		b.Run(fmt.Sprintf("copies=%d", copies), func(b *testing.B) {
			dir := b.TempDir()
			for c := 0; c < copies; c++ {
				if err := os.CopyFS(filepath.Join(dir, fmt.Sprintf("copy%d", c)), os.DirFS(tree)); err != nil {
					b.Fatal(err)
				}
			}
			wd, err := os.Getwd()
			if err != nil {
				b.Fatal(err)
			}
			if err := os.Chdir(dir); err != nil {
				b.Fatal(err)
			}
			defer os.Chdir(wd)
			b.ReportAllocs()
			runtime.GC()
			start := usageNow(b)
			b.ResetTimer()
			var files int
			for i := 0; i < b.N; i++ {
				res, err := fleet.LintNix(context.Background(), []string{"."}, fleet.LintOptions{})
				if err != nil {
					b.Fatal(err)
				}
				files = res.Files
			}
			b.StopTimer()
			reportUsage(b, start)
			b.ReportMetric(float64(files), "files")
		})
	}
}

// BenchmarkGenerateWrite measures Generate alone (its check against
// NixOS's options, making the files and writing the tree) on a fleet
// already loaded with its NixOS configurations, into a new tree each
// time, without a cache: what writing costs beside the load, which
// BenchmarkGenerate includes. Where the system lets the peak resident set
// be reset after the load (Linux), MiB-peak-rss-gen is the peak during
// Generate.
func BenchmarkGenerateWrite(b *testing.B) {
	for _, n := range benchSizes(b, 100, 1000) {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir, f := loadBenchFleet(b, n)
			b.ReportAllocs()
			runtime.GC()
			var peak int64
			var cpu time.Duration
			var files int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := os.RemoveAll(filepath.Join(dir, "nix")); err != nil {
					b.Fatal(err)
				}
				debug.FreeOSMemory() // what the load left, out of the peak
				reset := resetPeakRSS()
				start := usageNow(b)
				b.StartTimer()
				res, err := f.Generate(fleet.GenerateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				files = len(res.Written)
				cpu += usageNow(b).cpu - start.cpu
				if reset {
					peak = max(peak, peakRSS())
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(files), "files")
			if peak > 0 {
				b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss-gen")
			}
		})
	}
}
