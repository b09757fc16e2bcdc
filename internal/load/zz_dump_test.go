package load

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"cuelang.org/go/cue"

	"fleetnix.dev/fleet/schema"
)

// Throwaway: dump every host's export, #nixos, #exporters and users' #hm.
func TestZZDump(t *testing.T) {
	out := os.Getenv("ZZDUMP")
	if out == "" {
		t.Skip()
	}
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		t.Fatal(d)
	}
	os.MkdirAll(out, 0o755)
	for _, h := range f.Hosts {
		v := f.Value(h)
		m := map[string]json.RawMessage{}
		get := func(k string, p cue.Path) {
			b, err := v.LookupPath(p).MarshalJSON()
			if err != nil {
				t.Fatalf("%s %s: %v", h.Name, k, err)
			}
			m[k] = b
		}
		get("value", cue.Path{})
		get("nixos", cue.MakePath(cue.Def("#nixos")))
		get("exporters", cue.MakePath(cue.Def("#exporters")))
		for _, u := range h.Users {
			get("hm."+u.Name, cue.MakePath(cue.Str("users"), cue.Str(u.Name), cue.Def("#hm")))
		}
		b, _ := json.Marshal(m)
		var buf bytes.Buffer
		json.Indent(&buf, b, "", "  ")
		os.WriteFile(filepath.Join(out, h.Name+".json"), buf.Bytes(), 0o644)
	}
}

// Throwaway: like BenchmarkHostUnify, def from $ZZDEF, optional parts.
func BenchmarkZZUnify(b *testing.B) {
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		b.Fatal(d)
	}
	name := os.Getenv("ZZDEF")
	if name == "" {
		name = "#Host"
	}
	def := f.schema.LookupPath(cue.ParsePath(name))
	data := make([]any, len(f.Hosts))
	for i, h := range f.Hosts {
		data[i] = h.Tree.Data()
	}
	mode := os.Getenv("ZZMODE")
	b.ReportAllocs()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	defer func() {
		syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := def.Unify(f.ctx.Encode(data[i%len(data)]))
		if mode == "unify" {
			continue
		}
		if err := v.Validate(cue.Concrete(true)); err != nil {
			b.Fatal(err)
		}
		if mode == "validate" {
			continue
		}
		if _, err := v.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
		if name == "#Host" {
			if _, err := v.LookupPath(cue.MakePath(cue.Def("#nixos"))).MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
