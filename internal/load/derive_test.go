package load

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/schema"
)

// A tiny schema with a fleet pass: each host offers exporters; a host
// with the server role scrapes every exporter of every host; a client
// must name a server.
const deriveSchema = `package schema

#Fleet: hosts?: [string]: #HostSpec

#HostSpec: {
	server?: bool
	serverHost?: string
	exporters?: [string]: int
}

#Host: H={
	#HostSpec
	name!: string
	server: *false | bool
	exporters: [string]: int
	#nixos: networking: hostName: H.name
	#facts: {
		name:      H.name
		server:    H.server
		exporters: H.exporters
		if H.serverHost != _|_ {serverHost: H.serverHost}
	}
}

#HostExport: {
	#HostSpec
	name!: string
}

#SettingsFull: {...}
#SecretFull: {...}

#Facts: {name: string, server: bool, exporters: [string]: int, serverHost?: string}

#FleetFacts: F={
	hosts: [string]: #Facts
	servers: {for n, h in F.hosts if h.server {(n): true}}
	perHost: {
		for n, h in F.hosts if h.server for job, port in h.exporters {
			(n): targets: "\(n)-\(job)": "\(n):\(port)"
		}
		for n, h in F.hosts if h.serverHost != _|_ for job, port in h.exporters {
			(h.serverHost): targets: "\(n)-\(job)": "\(n):\(port)"
		}
	}
}

#Derive: D={
	name: string
	host: #Facts
	fleet: {servers: [string]: bool}
	own: {...}
	if D.host.serverHost != _|_ {
		// A client's server must be a monitoring server of the fleet.
		serverOK: D.fleet.servers[D.host.serverHost]
	}
	#nixos: {
		if D.host.server {
			services: prometheus: scrapeConfigs: [
				for job, target in D.own.targets {
					job_name: job
					static_configs: [{targets: [target]}]
				},
			]
		}
	}
}
`

// deriveSchemaFS holds deriveSchema; a pointer to it is the schema of
// the tests' fleets (the schema's field reference is kept by fs.FS, which
// must then be comparable).
var deriveSchemaFS = fstest.MapFS{"schema.cue": {Data: []byte(deriveSchema)}}

func deriveFleet(t *testing.T, hosts string) (*Fleet, []string) {
	t.Helper()
	return deriveFleetWith(t, &deriveSchemaFS, hosts)
}

// deriveFleetWith loads a fleet of the hosts given in CUE with the schema
// schemaFS.
func deriveFleetWith(t *testing.T, schemaFS fs.FS, hosts string) (*Fleet, []string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cue.mod"), 0o755)
	os.WriteFile(filepath.Join(dir, "cue.mod", "module.cue"), []byte("module: \"example.test/f@v0\"\nlanguage: version: \"v0.17.0\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "fleet.cue"), []byte("package fleet\n\nimport \"fleetnix.dev/fleet/schema\"\n\nschema.#Fleet\n\n"+hosts), 0o644)
	f, d := Load(context.Background(), &Config{Dir: dir, Schema: schemaFS})
	var msgs []string
	for _, e := range d {
		msgs = append(msgs, e.Error())
	}
	return f, msgs
}

func TestDerive(t *testing.T) {
	f, msgs := deriveFleet(t, `
hosts: mon: {server: true, exporters: node: 9100}
hosts: web: {serverHost: "mon", exporters: {node: 9100, nginx: 9113}}
`)
	if f == nil {
		t.Fatal(msgs)
	}
	got := map[string]any{}
	for _, h := range f.Hosts {
		var v any
		if h.Derived != nil {
			json.Unmarshal(h.Derived, &v)
		}
		got[h.Name] = v
	}
	target := func(job, t string) map[string]any {
		return map[string]any{"job_name": job, "static_configs": []any{map[string]any{"targets": []any{t}}}}
	}
	want := map[string]any{
		"mon": map[string]any{"services": map[string]any{"prometheus": map[string]any{"scrapeConfigs": []any{
			target("mon-node", "mon:9100"), target("web-nginx", "web:9113"), target("web-node", "web:9100"),
		}}}},
		"web": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived (-want +got):\n%s", diff)
	}
}

func TestDeriveError(t *testing.T) {
	f, msgs := deriveFleet(t, `
hosts: mon: {exporters: node: 9100}
hosts: web: {serverHost: "mon", exporters: node: 9100}
`)
	if f != nil {
		t.Fatal("a client of a host that is not a server was accepted")
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "fleet.cue:9:") || !strings.Contains(msgs[0], "hosts.web: fleet pass:") {
		t.Errorf("errors = %q, want one at web's declaration (fleet.cue:9)", msgs)
	}
}

// TestBuildReferenceMapFS builds the reference of a schema held in an
// fstest.MapFS twice: a map cannot be the key of the reference's cache,
// and used as one it panicked the second time.
func TestBuildReferenceMapFS(t *testing.T) {
	m := fstest.MapFS{}
	err := fs.WalkDir(schema.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.FS, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r, err := BuildReference(m)
		if err != nil || r == nil {
			t.Fatalf("BuildReference: %v", err)
		}
	}
}
