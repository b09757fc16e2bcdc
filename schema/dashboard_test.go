package schema_test

import (
	"io/fs"
	"path/filepath"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"

	"fleetnix.dev/fleet/schema"
)

// TestHostDashboardText holds #hostDashboardText, the dashboard JSON the
// fleet pass writes out for speed, equal to what json.Marshal makes of
// #HostDashboard, the dashboard's definition: for hosts with and without
// a GPU exporter, names of every length class, and jobs in any order.
func TestHostDashboardText(t *testing.T) {
	root := t.TempDir()
	ov := map[string]load.Source{
		filepath.Join(root, "cue.mod", "module.cue"): load.FromString("module: \"fleetnix.dev/check@v0\"\nlanguage: version: \"v0.17.0\"\n"),
		filepath.Join(root, "check.cue"): load.FromString(`package check

import (
	"encoding/json"
	"fleetnix.dev/fleet/schema"
)

cases: [string]: {
	host: string
	jobs: [...string]
	gpu: bool
	want: json.Marshal(schema.#HostDashboard & {#host: host, #jobs: jobs})
	got:  (schema.#hostDashboardText & {#host: host, #gpu: gpu}).text
}
cases: {
	node: {host: "p620", jobs: ["node"], gpu: false}
	gpu: {host: "dex5550", jobs: ["node", "nvidia-gpu"], gpu: true}
	gpuFirst: {host: "a", jobs: ["nvidia-gpu", "node", "systemd"], gpu: true}
	long: {host: "web-0001-eu-west-3b", jobs: ["node", "systemd"], gpu: false}
	digits: {host: "0", jobs: [], gpu: false}
}
`),
	}
	names, err := fs.Glob(schema.FS, "*.cue")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(schema.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		ov[filepath.Join(root, "cue.mod", "pkg", "fleetnix.dev", "fleet", "schema", n)] = load.FromBytes(b)
	}
	insts := load.Instances([]string{"."}, &load.Config{Dir: root, Overlay: ov})
	if err := insts[0].Err; err != nil {
		t.Fatal(err)
	}
	v := cuecontext.New().BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	it, err := v.LookupPath(cue.ParsePath("cases")).Fields()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		n++
		want, err := it.Value().LookupPath(cue.ParsePath("want")).String()
		if err != nil {
			t.Fatalf("%s: %v", it.Selector(), err)
		}
		got, err := it.Value().LookupPath(cue.ParsePath("got")).String()
		if err != nil {
			t.Fatalf("%s: %v", it.Selector(), err)
		}
		if got != want {
			t.Errorf("%s: #hostDashboardText differs from json.Marshal(#HostDashboard):\n got: %s\nwant: %s", it.Selector(), got, want)
		}
	}
	if n != 5 {
		t.Fatalf("checked %d cases, want 5", n)
	}
}
