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
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		b.Fatal(d)
	}
	if err := f.init(); err != nil {
		b.Fatal(err)
	}
	def := f.schema.LookupPath(cue.ParsePath(string(HostDef)))
	data := make([]any, len(f.Hosts))
	for i, h := range f.Hosts {
		data[i] = h.Tree.Data()
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
