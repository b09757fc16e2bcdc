package fleet

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFlakeCache checks that the flake and the agenix rules kept in the
// cache are those an uncached run makes after each kind of edit that
// changes them or their source map (a host added, removed or renamed, an
// input changed or added, a module every host imports, a host's
// declaration or its disks moved; a secret added, a recipient's key
// changed, the secrets moved), and that they are taken from the cache
// when nothing they are made from changed (nothing edited, or a
// template).
func TestFlakeCache(t *testing.T) {
	at, newFile := referenceEdits(t)
	hosts, err := os.ReadFile(at("hosts.cue"))
	if err != nil {
		t.Fatal(err)
	}
	// samsung's declaration, from its name to its closing brace.
	start := strings.Index(string(hosts), "\tsamsung: {\n")
	end := strings.Index(string(hosts)[start:], "\n\t}\n")
	if start < 0 || end < 0 {
		t.Fatal("hosts.cue has no host samsung")
	}
	end += start + len("\n\t}\n")
	samsung := string(hosts[start:end])
	renders := func(run func()) int64 {
		before := flakeRenders.Load()
		run()
		return flakeRenders.Load() - before
	}
	base := t.TempDir()
	var cold map[string]string
	if n := renders(func() { cold, _, _, _ = editRun(t, base, nil) }); n != 2 {
		t.Fatalf("a cold run made the flake and the rules %d times, want 2", n)
	}
	if n := renders(func() { editRun(t, base, nil) }); n != 0 {
		t.Fatalf("a warm run of an unchanged fleet made the flake or the rules %d times, want 0", n)
	}
	for _, tc := range []struct {
		name    string
		overlay map[string][]byte
		// kept: the flake is taken from the cache.
		kept bool
	}{
		// A host's value changes; no declaration moves.
		{"template", map[string][]byte{at("templates.cue"): replaceAfter(t, "templates.cue", "laptop: {", `"home.freundcloud.com"`, `"home.freundcloud.net"`)}, true},
		// A host declared in a file before its own is placed there.
		{"host's value in a new file", newFile("hosts: samsung: nixos: environment: etc: \"edit-test\": text: \"edited\"\n"), false},
		{"host added", newFile("hosts: {\n" + strings.Replace(samsung, "samsung:", "samsung2:", 1) + "}\n"), false},
		{"host removed", map[string][]byte{at("hosts.cue"): slices.Concat(hosts[:start], hosts[end:])}, false},
		{"host renamed", map[string][]byte{at("hosts.cue"): replaceAfter(t, "hosts.cue", "\tsamsung: {", "samsung", "samsunx")}, false},
		{"input changed", map[string][]byte{at("fleet.cue"): replaceAfter(t, "fleet.cue", "agenix: {", `"github:ryantm/agenix"`, `"github:ryantm/agenyx"`)}, false},
		{"input added", newFile("settings: inputs: \"edit-test\": url: \"github:example/edit-test\"\n"), false},
		{"module added", newFile("settings: inputs: disko: nixosModules: \"nixosModules.disko\": true\n"), false},
		// The flake's text stays; its source map moves.
		{"hosts moved", map[string][]byte{at("hosts.cue"): replaceAfter(t, "hosts.cue", "hosts: {", "hosts: {", "hosts: {\n")}, false},
		{"disks moved", map[string][]byte{at("hosts.cue"): replaceAfter(t, "hosts.cue", "\tdex5550: {", "\t\tdisks: main: {", "\n\t\tdisks: main: {")}, false},
		// The agenix rules.
		{"secret added", newFile("secrets: \"edit-test\": {description: \"a secret of the test\", recipients: users: olafkfreund: true}\n"), false},
		{"recipient's key", map[string][]byte{at("users.cue"): replaceAfter(t, "users.cue", "sshKeys: {", "NotReal00001", "NotReal00009")}, false},
		{"secrets moved", map[string][]byte{at("secrets.cue"): replaceAfter(t, "secrets.cue", "secrets: {", "secrets: {", "secrets: {\n")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _, _, _ := editRun(t, "", tc.overlay)
			if !tc.kept && want["flake.nix"] == cold["flake.nix"] && want["secrets/secrets.nix"] == cold["secrets/secrets.nix"] && want["sourcemap.json"] == cold["sourcemap.json"] {
				t.Fatal("the edit changes neither the flake, the rules nor their source map: the test proves nothing")
			}
			dir := copyCache(t, base)
			var got map[string]string
			n := renders(func() { got, _, _, _ = editRun(t, dir, tc.overlay) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("the cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if tc.kept && n != 0 || !tc.kept && n == 0 {
				t.Errorf("the cached run made the flake or the rules %d times, want %s", n, map[bool]string{true: "none", false: "some"}[tc.kept])
			}
			if n := renders(func() { got, _, _, _ = editRun(t, dir, tc.overlay) }); n != 0 {
				t.Errorf("the second cached run made the flake or the rules %d times, want 0", n)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("the second cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
		})
	}
}
