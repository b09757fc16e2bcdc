package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"fleetnix.dev/fleet/fleet"
)

// repoRoot is the repository root: the reference fleet lives there.
const repoRoot = ".."

func loadReference(t testing.TB) *fleet.Fleet {
	t.Helper()
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: repoRoot})
	if err != nil {
		var buf bytes.Buffer
		fleet.PrintErrors(&buf, "", err)
		t.Fatalf("loading the reference fleet: %v\n%s", err, buf.String())
	}
	return f
}

func TestReferenceFleet(t *testing.T) {
	f := loadReference(t)
	if w := f.Warnings(); len(w) > 0 {
		t.Errorf("warnings on the reference fleet: %v", w)
	}
	want := map[string]struct {
		template string
		profiles string
	}{
		"p620":    {"workstation", "developer+desktop-user"},
		"p510":    {"workstation", "server-admin+developer"},
		"razer":   {"laptop", "developer+laptop-user"},
		"samsung": {"laptop", "developer+laptop-user"},
		"dex5550": {"server", "server-admin"},
	}
	var names []string
	for _, h := range f.Hosts() {
		names = append(names, h.Name)
		w, ok := want[h.Name]
		if !ok {
			continue
		}
		if h.Template != w.template {
			t.Errorf("%s: template %q, want %q", h.Name, h.Template, w.template)
		}
		var got []string
		for _, u := range h.Users {
			if u.Name == "olafkfreund" {
				got = u.Profiles
			}
		}
		if strings.Join(got, "+") != w.profiles {
			t.Errorf("%s: olafkfreund's profiles %v, want %s", h.Name, got, w.profiles)
		}
		v, err := h.Value()
		if err != nil {
			t.Fatal(err)
		}
		if v["name"] != h.Name {
			t.Errorf("%s: final value has name %v", h.Name, v["name"])
		}
	}
	if strings.Join(names, " ") != "dex5550 p510 p620 razer samsung" {
		t.Errorf("hosts = %v", names)
	}
}

// TestExportMatchesJSONSchema validates every host's exported value
// against the published JSON Schema, and checks that the schema rejects a
// broken value, so the check can fail.
func TestExportMatchesJSONSchema(t *testing.T) {
	f := loadReference(t)
	js, err := fleet.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("host.schema.json", bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("host.schema.json")
	if err != nil {
		t.Fatalf("compiling the generated JSON Schema: %v", err)
	}
	for _, h := range f.Hosts() {
		var doc any
		if err := json.Unmarshal(h.JSON(), &doc); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s: export does not match the JSON Schema: %v", h.Name, err)
		}
		bad := doc.(map[string]any)
		bad["noSuchField"] = true
		if err := sch.Validate(bad); err == nil {
			t.Errorf("%s: the JSON Schema accepted an unknown top-level field", h.Name)
		}
	}
}

func TestExplainOverride(t *testing.T) {
	f := loadReference(t)
	// dex5550 is on the server template; every host's name is set by the
	// host layer itself.
	prov, err := f.Explain("dex5550", "name")
	if err != nil {
		t.Fatal(err)
	}
	if len(prov) != 1 || prov[0].Set.Layer != "host" || prov[0].Value != "dex5550" || !strings.HasSuffix(prov[0].Set.Pos.File, "hosts.cue") {
		t.Errorf("explain name = %+v", prov)
	}
	if _, err := f.Explain("nosuchhost", "name"); err == nil {
		t.Error("explain of an unknown host succeeded")
	}
	if _, err := f.Explain("dex5550", "no.such.path"); err == nil {
		t.Error("explain of an unknown path succeeded")
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		`a.b.c`:            "a|b|c",
		`users."a.b".home`: "users|a.b|home",
		`x."git-lfs"`:      "x|git-lfs",
	} {
		got, err := fleet.ParsePath(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`a..b`, `a."b`, `a."b"c`} {
		if _, err := fleet.ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) succeeded", bad)
		}
	}
}

// cueBinary finds the stock cue CLI. Missing, the test skips locally and
// fails under CI.
func cueBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("cue"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "cue")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := "the cue CLI is not installed (go install cuelang.org/go/cmd/cue@v0.17.1)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func cueVet(t *testing.T, cue, dir string) {
	t.Helper()
	cmd := exec.Command(cue, "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CUE_REGISTRY=none", "CUE_CACHE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("cue vet ./... in %s: %v\n%s", dir, err, out)
	}
}

// TestStockCueVet runs the stock cue CLI, offline, on the repository root
// and on a fresh fleetgen init directory, and checks it rejects a mistake.
func TestStockCueVet(t *testing.T) {
	cue := cueBinary(t)
	cueVet(t, cue, repoRoot)
	dir := filepath.Join(t.TempDir(), "myfleet")
	if err := fleet.InitWith(dir, fleet.InitOptions{Host: "web", User: "alice",
		SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJP6FPYh+17QXVum+Hs1KG7YiYy59yEl7SZ9lb7ayyU4 alice@laptop"}); err != nil {
		t.Fatal(err)
	}
	cueVet(t, cue, dir)
	if _, err := fleet.Load(context.Background(), &fleet.Config{Dir: dir}); err != nil {
		t.Errorf("fleetgen cannot load the fleet fleetgen init wrote: %v", err)
	}
	// The same check must fail on a typo, or it proves nothing.
	os.WriteFile(filepath.Join(dir, "typo.cue"), []byte("package fleet\n\nhosts: web: deploi: {}\n"), 0o644)
	cmd := exec.Command(cue, "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CUE_REGISTRY=none", "CUE_CACHE_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "deploi") {
		t.Errorf("cue vet accepted an unknown field: %v\n%s", err, out)
	}
}

// TestVendoredSchemaMatches checks that the repository's own vendored
// schema is the embedded one, so editors see what fleetgen uses.
func TestVendoredSchemaMatches(t *testing.T) {
	dir := filepath.Join(repoRoot, "cue.mod", "pkg", filepath.FromSlash(fleet.SchemaImportPath))
	ents, err := os.ReadDir(filepath.Join(repoRoot, "schema"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		n++
		want, _ := os.ReadFile(filepath.Join(repoRoot, "schema", e.Name()))
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("vendored %s differs from schema/%s (%v)", e.Name(), e.Name(), err)
		}
	}
	if n == 0 {
		t.Fatal("no schema files found")
	}
}
