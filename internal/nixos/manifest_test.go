package nixos

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestEmbeddedCanonical checks that the checked-in manifest parses and is
// in the canonical form Marshal writes (sorted, one entry per line), so
// that a regenerated manifest differs only where the surface does.
// FLEET_UPDATE=1 rewrites it in that form.
func TestEmbeddedCanonical(t *testing.T) {
	m, err := Parse(embedded)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FLEET_UPDATE") != "" {
		if err := os.WriteFile("manifest.json", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(out, embedded) {
		t.Errorf("manifest.json is not in canonical form (FLEET_UPDATE=1 rewrites it)")
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("the canonical form does not parse: %v", err)
	}
	if len(again.Options) != len(m.Options) || len(again.Packages) != len(m.Packages) || len(again.Defines) != len(m.Defines) {
		t.Errorf("round trip lost entries")
	}
	if _, err := Embedded(); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedEvidence checks that every entry says where it comes from:
// options and defines name their declaring file, packages their file or
// the flake that provides them.
func TestEmbeddedEvidence(t *testing.T) {
	m, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Options {
		if o.Declared == "" || !strings.HasSuffix(o.Declared, ".nix") {
			t.Errorf("option %s (%s): no declaring file", o.Path, o.Tree)
		}
	}
	for _, p := range m.Packages {
		if p.Declared == "" && p.Input == "" {
			t.Errorf("package %s: neither a declaring file nor an input", p.Attr)
		}
	}
	for _, d := range m.Defines {
		if d.Declared == "" {
			t.Errorf("define %s: no declaring file", d.Path)
		}
		if d.When != "" && m.Option("nixos", strings.Split(d.When, ".")) == nil {
			t.Errorf("define %s: when %s is not an option of the manifest", d.Path, d.When)
		}
	}
	for name, s := range m.Sources {
		if s.Release == "" || s.Stored == "" {
			t.Errorf("source %s: release and stored copy must be said", name)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, src := range map[string]string{
		"format":       `{"format": 2, "sources": {}, "options": [], "packages": [], "defines": []}`,
		"unknown kind": `{"format": 1, "sources": {"nixpkgs": {"release": "r", "stored": "s"}}, "options": [{"path": "a", "tree": "nixos", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "strng"}}], "packages": [], "defines": []}`,
		"twice":        `{"format": 1, "sources": {"nixpkgs": {"release": "r", "stored": "s"}}, "options": [{"path": "a", "tree": "nixos", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "str"}}, {"path": "a", "tree": "nixos", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "str"}}], "packages": [], "defines": []}`,
		"source":       `{"format": 1, "sources": {}, "options": [{"path": "a", "tree": "nixos", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "str"}}], "packages": [], "defines": []}`,
		"tree":         `{"format": 1, "sources": {"nixpkgs": {"release": "r", "stored": "s"}}, "options": [{"path": "a", "tree": "darwin", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "str"}}], "packages": [], "defines": []}`,
		"pattern":      `{"format": 1, "sources": {"nixpkgs": {"release": "r", "stored": "s"}}, "options": [{"path": "a", "tree": "nixos", "from": "nixpkgs", "declared": "a.nix", "type": {"kind": "strMatching", "pattern": "("}}], "packages": [], "defines": []}`,
		"field":        `{"format": 1, "sources": {}, "options": [], "packages": [], "defines": [], "extra": 1}`,
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSplitPath(t *testing.T) {
	got, err := SplitPath(`environment.etc."grafana-dashboards/a.json".text`)
	if err != nil || strings.Join(got, "|") != "environment|etc|grafana-dashboards/a.json|text" {
		t.Errorf("got %q, %v", got, err)
	}
	if s := JoinPath(got); s != `environment.etc."grafana-dashboards/a.json".text` {
		t.Errorf("JoinPath = %s", s)
	}
	if s := JoinPath([]string{"a", "b.c"}); s != `a."b.c"` {
		t.Errorf("JoinPath = %s", s)
	}
	for _, bad := range []string{"", "a..b", "a.", `"a`, `"a"b`} {
		if _, err := SplitPath(bad); err == nil {
			t.Errorf("SplitPath(%q) accepted", bad)
		}
	}
}
