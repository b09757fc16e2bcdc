package emit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// sharedHost returns a host named name whose values hold the name as
// whole strings in every part: computed, fleet-pass, free-form, a home
// configuration, a list the printer wraps by width.
func sharedHost(t *testing.T, name string) *Host {
	t.Helper()
	obj := func(s string) map[string]any {
		d := json.NewDecoder(strings.NewReader(strings.ReplaceAll(s, "NAME", name)))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return &Host{
		Name:    name,
		Comment: []string{"Host " + name + "."},
		NixOS:   obj(`{"networking": {"hostName": "NAME"}, "services": {"prometheus": {"exporters": {"node": {"enable": true, "listenAddress": "NAME"}}}}}`),
		Derived: obj(`{"services": {"prometheus": {"scrapeConfigs": [{"job_name": "node", "static_configs": [{"labels": {"host": "NAME"}, "targets": ["NAME:9100"]}]}]}}}`),
		Extra:   obj(`{"networking": {"hosts": {"127.0.0.2": ["NAME", "an-alias-long-enough-to-wrap-the-line-at-the-printers-width"]}}}`),
		Users:   []User{{Name: "alice", Comment: []string{"Home of alice on " + name + "."}, Home: obj(`{"home": {"sessionVariables": {"HOST": "NAME"}}}`)}},
	}
}

// TestRelocate: a host's files and the values its source map asks
// about, made once for a placeholder and given the host's name
// (HostShared, Relocate), are those Host makes for the host itself.
func TestRelocate(t *testing.T) {
	f := &Fleet{OutDir: "nix"}
	for _, c := range []struct{ name, placeholder string }{
		{"web-1", "qzx-9"},
		{strings.Repeat("wide", 10) + "-1", strings.Repeat("qzxj", 10) + "-9"},
	} {
		var asked, relocated []string
		record := func(to *[]string) func(*Value) Origin {
			return func(v *Value) Origin {
				if _, ok := v.Data.(syntax.Expr); ok {
					// The emitter's own value (an import), which
					// Relocate passes as made (see there).
					w := *v
					w.Data = nil
					v = &w
				}
				o := describeOrigin(v)
				*to = append(*to, v.File+" "+o.Path+" "+o.Source)
				return o
			}
		}
		want, err := f.Host(sharedHost(t, c.name), record(&asked))
		if err != nil {
			t.Fatal(err)
		}
		shared, err := f.HostShared(sharedHost(t, c.placeholder))
		if err != nil {
			t.Fatal(err)
		}
		rec := record(&relocated)
		m := shared.Map.Relocate(c.placeholder, c.name, func(out *MapPart, _, _ int, v *Value) int {
			w := v.Renamed(c.placeholder, c.name)
			return out.Index(rec(&w))
		})
		if len(shared.Files) != len(want.Files) {
			t.Fatalf("%d files shared, %d made", len(shared.Files), len(want.Files))
		}
		for i, file := range shared.Files {
			path := strings.ReplaceAll(file.Path, c.placeholder, c.name)
			data := bytes.ReplaceAll(file.Data, []byte(c.placeholder), []byte(c.name))
			if path != want.Files[i].Path || !bytes.Equal(data, want.Files[i].Data) {
				t.Errorf("%s shared:\n%s\nmade:\n%s", path, data, want.Files[i].Data)
			}
		}
		if got, want := string(JoinSourceMap([]*MapPart{m}, nil)), string(JoinSourceMap([]*MapPart{want.Map}, nil)); got != want {
			t.Errorf("source map relocated:\n%s\nmade:\n%s", got, want)
		}
		if strings.Join(relocated, "\n") != strings.Join(asked, "\n") {
			t.Errorf("relocated asked:\n%s\nmade asked:\n%s", strings.Join(relocated, "\n"), strings.Join(asked, "\n"))
		}
		if !strings.Contains(strings.Join(asked, "\n"), `"`+c.name+`"`) {
			t.Errorf("no value asked about holds the name:\n%s", strings.Join(asked, "\n"))
		}
	}
}
