package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

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
		fmt.Fprintf(&b, "hosts: %q: %s\n", name, val)
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

// TestBenchFleetLoads checks the benchmark's generated fleet is a valid
// fleet of the size asked for. With FLEET_BENCH_DIR set it also leaves a
// 1000-host fleet there, to time plain `cue export` on the same input.
func TestBenchFleetLoads(t *testing.T) {
	dir := t.TempDir()
	writeBenchFleet(t, dir, 12)
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir})
	if err != nil {
		var buf bytes.Buffer
		fleet.PrintErrors(&buf, dir, err)
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got := len(f.Hosts()); got != 12 {
		t.Fatalf("loaded %d hosts, want 12", got)
	}
	if out := os.Getenv("FLEET_BENCH_DIR"); out != "" {
		writeBenchFleet(t, out, 1000)
		t.Logf("wrote a 1000-host fleet to %s", out)
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
	for _, n := range []int{10, 100, 1000} {
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
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeBenchFleet(b, dir, n)
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

// BenchmarkGenerateCheck measures writing the generated tree with its
// source map (Generate with Check: nothing is written) on fleets already
// loaded with their NixOS configurations, and reports the source map's
// size per host.
func BenchmarkGenerateCheck(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeBenchFleet(b, dir, n)
			f, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir, NixOS: true})
			if err != nil {
				b.Fatal(err)
			}
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
			fi, err := os.Stat(filepath.Join(dir, "nix", "sourcemap.json"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/float64(n)/1024, "KiB-map/host")
		})
	}
}
