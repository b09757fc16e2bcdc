package fleet_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/fleet"
)

// TestReferenceCurrent checks that docs/reference.md is the field
// reference of the schema as it is now; FLEET_UPDATE=1 rewrites it.
func TestReferenceCurrent(t *testing.T) {
	got, err := fleet.ReferenceMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	name := filepath.Join("..", "docs", "reference.md")
	if os.Getenv("FLEET_UPDATE") != "" {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (FLEET_UPDATE=1 go test ./fleet writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: the schema changed; FLEET_UPDATE=1 go test ./fleet -run TestReferenceCurrent regenerates it", name)
	}
}

// TestReferenceComplete checks that the reference says, for every field,
// what a newcomer needs: a doc comment, the layers that may set it, a type
// and, for every field that holds a value, an example the schema accepts.
func TestReferenceComplete(t *testing.T) {
	fields, types, err := fleet.SchemaReference()
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) < 400 {
		t.Fatalf("the reference has %d fields; the schema has far more", len(fields))
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.Path] {
			t.Errorf("%s is listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Doc == "" && !strings.HasSuffix(f.Path, ">") {
			t.Errorf("%s has no doc comment", f.Path)
		}
		if len(f.Layers) == 0 {
			t.Errorf("%s: no layer may set it", f.Path)
		}
		if f.Kind != "struct" && f.Type == "" {
			t.Errorf("%s has no type", f.Path)
		}
		if f.Kind == "value" && f.Example == "" {
			t.Errorf("%s has no example", f.Path)
		}
	}
	for _, p := range []string{"network.ssh.port", "features.ai.ollama", "users.<user>.shell", "users.<user>.home.editors.neovim",
		"hardware.cpu.vendor", "settings.output", "secrets.<secret>.recipients.users", "templates.<name>.fixed"} {
		if !seen[p] {
			t.Errorf("the reference lacks %s", p)
		}
	}
	if len(types) == 0 {
		t.Error("the reference lists no types")
	}
}

// TestLookupSchemaField checks lookups by the paths people type.
func TestLookupSchemaField(t *testing.T) {
	for _, tc := range []struct{ path, want, err string }{
		{path: "network.ssh.port", want: "network.ssh.port"},
		{path: "hosts.web.network.ssh.port", want: "network.ssh.port"},
		{path: "users.alice.shell", want: "users.<user>.shell"},
		{path: "secrets.api-key.file", want: "secrets.<secret>.file"},
		{path: "features.ai.olama", err: `features.ai has no field "olama"; did you mean "ollama"?`},
		{path: "netwrk", err: `the schema has no field "netwrk" at the top level; did you mean "network"?`},
	} {
		f, _, err := fleet.LookupSchemaField(tc.path)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if f.Path != tc.want {
			t.Errorf("%s: found %s, want %s", tc.path, f.Path, tc.want)
		}
	}
	f, _, err := fleet.LookupSchemaField("features.monitoring.role")
	if err != nil {
		t.Fatal(err)
	}
	if f.Default != `"client"` || strings.Join(f.Allowed, " ") != `"client" "server"` || f.Example != `features: monitoring: role: "server"` {
		t.Errorf("features.monitoring.role: default %s, allowed %v, example %s", f.Default, f.Allowed, f.Example)
	}
}
