package load

import (
	"context"
	"testing"

	"cuelang.org/go/cue"

	"fleetnix.dev/fleet/schema"
)

// BenchmarkHostUnify measures the per-host cost of the final unification
// with #Host on the reference fleet: unify, validate, export the value and
// the #nixos fragment. One op is one host.
func BenchmarkHostUnify(b *testing.B) {
	f, def := referenceHostDef(b)
	data := make([]any, len(f.Hosts))
	for i, h := range f.Hosts {
		data[i] = f.Tree(h).Data()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := def.Unify(f.ctx.Encode(data[i%len(data)]))
		if err := v.Validate(cue.Concrete(true)); err != nil {
			b.Fatal(err)
		}
		if _, err := v.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
		if _, err := v.LookupPath(cue.MakePath(cue.Def("#nixos"))).MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostFragments measures what recording a host's fragments for
// the source map adds to its unification (BenchmarkHostUnify): walking
// the unified value and exporting every #nixos, #hm and pool definition.
// One op is one host.
func BenchmarkHostFragments(b *testing.B) {
	f, def := referenceHostDef(b)
	vs := make([]cue.Value, len(f.Hosts))
	for i, h := range f.Hosts {
		vs[i] = def.Unify(f.ctx.Encode(f.Tree(h).Data()))
		if err := vs[i].Validate(cue.Concrete(true)); err != nil {
			b.Fatal(err)
		}
	}
	data := make([][]byte, len(f.Hosts))
	for i, h := range f.Hosts {
		data[i] = h.JSON()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := fragments(vs[i%len(vs)], data[i%len(vs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// referenceHostDef loads the reference fleet and returns it with #Host
// in the fleet's own context.
func referenceHostDef(b *testing.B) (*Fleet, cue.Value) {
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		b.Fatal(d)
	}
	if err := f.init(); err != nil {
		b.Fatal(err)
	}
	return f, f.schema.LookupPath(cue.ParsePath(string(HostDef)))
}
