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
	status, warnings, keys = secretsStatusOf(t, f)
	return status, warnings, keys, f.secretFactsRead.Load()
}

// secretsStatusOf returns the secrets' status of f, its warnings and the host
// keys.
func secretsStatusOf(t *testing.T, f *Fleet) (status []SecretStatus, warnings string, keys map[string]string) {
	t.Helper()
	status, err := f.SecretsStatus()
	if err != nil {
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
	return status, b.String(), keys
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

// TestSecretFactsAlike: the secrets' status, warnings and host keys of a
// fleet of hosts alike are the same whether the hostSecrets of hosts
// alike are made from one host's (secretsAlike) or read from each: hosts
// whose deploy target or a secret's mode is their name, a
// user's value that holds the name, hosts whose host key holds their
// name in a longer string (each read alone), and hosts alike whose host
// keys differ (not alike).
func TestSecretFactsAlike(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, vetFleetFiles(`
secrets: token: {description: "a token", recipients: users: alice: true}
secrets: other: {description: "another", recipients: users: alice: true}

templates: lab: nixos: services: "edit-test": tokenFile: $secret: "token"
`+labTemplate+`
hosts: "tgt-1": {template: "lab", deploy: targetHost: "tgt-1"}
hosts: "tgt-2": {template: "lab", deploy: targetHost: "tgt-2"}
hosts: "tgt-3": {template: "lab", deploy: targetHost: "tgt-3"}
hosts: "k-1": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000005 root", nixos: age: secrets: token: mode: "k-1"}
hosts: "k-2": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000005 root", nixos: age: secrets: token: mode: "k-2"}
hosts: "k-3": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000005 root", nixos: age: secrets: token: mode: "k-3"}
hosts: "u-1": {template: "lab", users: alice: description: "u-1", nixos: services: x: f: $secret: "other"}
hosts: "u-2": {template: "lab", users: alice: description: "u-2", nixos: services: x: f: $secret: "other"}
hosts: "r-1": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000002 root@r-1"}
hosts: "r-2": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000002 root@r-2"}
hosts: "d-1": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000003 root"}
hosts: "d-2": {template: "lab", deploy: hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheCheckFixtureOnlyNotReal0000004 root"}
`))
	run := func(share bool) (status []SecretStatus, warnings string, keys map[string]string, hs map[string]hostSecrets) {
		t.Helper()
		defer SetShareClones(true)()
		SetShareClones(share)
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
		if err != nil {
			t.Fatal(err)
		}
		status, warnings, keys = secretsStatusOf(t, f)
		facts, err := f.hostSecretFacts()
		if err != nil {
			t.Fatal(err)
		}
		hs = map[string]hostSecrets{}
		for i, h := range f.hosts {
			hs[h.Name] = facts[i]
		}
		return status, warnings, keys, hs
	}
	wantStatus, wantWarnings, wantKeys, want := run(false)
	shared := secretFactsShared.Load()
	status, warnings, keys, got := run(true)
	// tgt-2, tgt-3, k-2, k-3 and u-2 are made from another's; r-1 and r-2
	// hold their names in their host keys, d-1 and d-2 differ.
	if n := secretFactsShared.Load() - shared; n != 5 {
		t.Errorf("%d hosts' secrets made from another's, want 5", n)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(hostSecrets{})); diff != "" {
		t.Errorf("hostSecrets (-alone +shared):\n%s", diff)
	}
	if diff := cmp.Diff(wantStatus, status); diff != "" {
		t.Errorf("status (-alone +shared):\n%s", diff)
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-alone +shared):\n%s", diff)
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("host keys (-alone +shared):\n%s", diff)
	}
	if got["k-1"].Modes["token"] != "k-1" || got["k-2"].Modes["token"] != "k-2" || got["tgt-1"].Target != "tgt-1" || got["tgt-3"].Target != "tgt-3" {
		t.Errorf("hostSecrets of k-1: %v, k-2: %v, tgt-1: %q, tgt-3: %q", got["k-1"].Modes, got["k-2"].Modes, got["tgt-1"].Target, got["tgt-3"].Target)
	}
	if !strings.Contains(string(got["u-2"].Users["alice"]), `"u-2"`) {
		t.Errorf("alice on u-2: %s", got["u-2"].Users["alice"])
	}
}
