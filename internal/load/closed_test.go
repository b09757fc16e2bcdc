package load

import (
	"context"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"

	"fleetnix.dev/fleet/schema"
)

// TestReferenceHostsClosed unifies every host of the reference fleet with
// #Host in the fleet's own context, where definitions are closed (Value,
// explain and the benchmark use it; the load's workers do not check
// closedness): the schema's parts must combine without a field that one
// closed struct does not allow.
func TestReferenceHostsClosed(t *testing.T) {
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		t.Fatal(d)
	}
	for _, h := range f.Hosts {
		v, err := f.Value(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(cue.Concrete(true)); err != nil {
			t.Errorf("%s: %s", h.Name, errors.Details(err, nil))
		}
	}
}
