package fleet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// secretsRun loads the reference fleet with the overlay and returns its
// secrets' status, its warnings and the host keys, and how many hosts'
// values were read for them (the rest came from the cache).
func secretsRun(t *testing.T, cacheDir string, overlay map[string][]byte) (status []SecretStatus, warnings string, keys map[string]string, read int64) {
	t.Helper()
	f, err := Load(context.Background(), &Config{Dir: referenceFleet, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
	if err != nil {
		t.Fatal(err)
	}
	if status, err = f.SecretsStatus(); err != nil {
		t.Fatal(err)
	}
	w, err := f.SecretWarnings()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	PrintErrors(&b, "", w)
	if keys, err = f.hostKeys(); err != nil {
		t.Fatal(err)
	}
	return status, b.String(), keys, f.secretFactsRead.Load()
}

// TestSecretFactsCache holds the cache of what the secrets' status reads
// of each host to an uncached run: after each kind of edit of a host (a
// secret its configuration uses, a mode its free-form nixos gives one,
// its host key, a user's keys), a run with the cache gives what a run
// without gives, reading only the hosts the edit changed.
func TestSecretFactsCache(t *testing.T) {
	root, err := filepath.Abs(referenceFleet)
	if err != nil {
		t.Fatal(err)
	}
	newFile := func(src string) map[string][]byte {
		return map[string][]byte{filepath.Join(root, "edit.cue"): []byte("package fleet\n\n" + src)}
	}
	base := t.TempDir()
	coldStatus, coldWarnings, coldKeys, read := secretsRun(t, base, nil)
	if read != 5 {
		t.Fatalf("a cold run read %d hosts' values; want all five", read)
	}
	if _, _, _, read = secretsRun(t, base, nil); read != 0 {
		t.Fatalf("a warm run of an unchanged fleet read %d hosts' values", read)
	}
	for _, tc := range []struct {
		name    string
		overlay map[string][]byte
		read    int64
	}{
		{"secret used", newFile("hosts: samsung: nixos: services: \"edit-test\": tokenFile: $secret: \"api-openai\"\n"), 1},
		{"mode", newFile("hosts: samsung: nixos: age: secrets: \"user-password-olafkfreund\": mode: \"0444\"\n"), 1},
		{"host key", map[string][]byte{filepath.Join(root, "hosts.cue"): replaceAfter(t, "hosts.cue", "samsung: {", "root@samsung", "root@samsunx")}, 1},
		// Edits of what hosts are made from, which change their values
		// without a change of their own entries.
		{"user's key", map[string][]byte{filepath.Join(root, "users.cue"): replaceAfter(t, "users.cue", "sshKeys: {", "p620:  \"ssh", "p62x:  \"ssh")}, 5},
		{"template", map[string][]byte{filepath.Join(root, "templates.cue"): replaceAfter(t, "templates.cue", "laptop: {", `authKey: $secret: "tailscale-auth-key"`, `authKey: $secret: "api-openai"        `)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus, wantWarnings, wantKeys, _ := secretsRun(t, "", tc.overlay)
			if cmp.Equal(coldStatus, wantStatus) && coldWarnings == wantWarnings && cmp.Equal(coldKeys, wantKeys) {
				t.Fatal("the edit changes neither the status, the warnings nor the host keys: the test proves nothing")
			}
			dir := copyCache(t, base)
			status, warnings, keys, read := secretsRun(t, dir, tc.overlay)
			if diff := cmp.Diff(wantStatus, status); diff != "" {
				t.Errorf("status, cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
				t.Errorf("warnings, cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if diff := cmp.Diff(wantKeys, keys); diff != "" {
				t.Errorf("host keys, cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if read != tc.read {
				t.Errorf("the cached run read %d hosts' values, want %d", read, tc.read)
			}
		})
	}
}

// TestSomeHosts keeps a warning about a secret many hosts use to one
// line.
func TestSomeHosts(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "c", "d", "e", "f"}, "a, b, c, d, e, f"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, "a, b, c, d, e and 2 other hosts"},
	} {
		if got := someHosts(tc.in); got != tc.want {
			t.Errorf("someHosts(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
