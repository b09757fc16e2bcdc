package emit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOverlay(t *testing.T) {
	for _, c := range []struct {
		name, base, extra, want, err string
	}{
		{name: "union", base: `{"a":{"b":1}}`, extra: `{"a":{"c":2},"d":true}`, want: `{"a":{"b":1,"c":2},"d":true}`},
		{name: "lists concatenate", base: `{"p":["git"]}`, extra: `{"p":["vim"]}`, want: `{"p":["git","vim"]}`},
		{name: "equal values", base: `{"x":"a"}`, extra: `{"x":"a"}`, want: `{"x":"a"}`},
		{name: "force replaces", base: `{"fw":{"enable":false}}`, extra: `{"fw":{"enable":{"$force":true}}}`, want: `{"fw":{"enable":{"$force":true}}}`},
		{name: "default yields", base: `{"x":1}`, extra: `{"x":{"$default":2},"y":{"$default":3}}`, want: `{"x":1,"y":{"$default":3}}`},
		{name: "conflict", base: `{"fw":{"enable":false}}`, extra: `{"fw":{"enable":true}}`, err: "nixos.fw.enable: true conflicts with false, which the host's features set"},
		{name: "struct against leaf", base: `{"a":1}`, extra: `{"a":{"b":2}}`, err: "nixos.a:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, extra := obj(t, c.base), obj(t, c.extra)
			got, err := overlay(base, extra, nil)
			// The inputs are the host's data, which the emitter reads
			// again (the source map's layers): they stay as they were.
			if diff := cmp.Diff(obj(t, c.base), base); diff != "" {
				t.Errorf("overlay modified base (-was +is):\n%s", diff)
			}
			if diff := cmp.Diff(obj(t, c.extra), extra); diff != "" {
				t.Errorf("overlay modified extra (-was +is):\n%s", diff)
			}
			if c.err != "" {
				var oe *OverlayError
				if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(obj(t, c.want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
