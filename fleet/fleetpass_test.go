package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadCopy loads a copy of the reference fleet with extra files added.
func loadCopy(t *testing.T, extra map[string]string) (*Fleet, string) {
	t.Helper()
	dir := copyFleet(t)
	for name, src := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		var b bytes.Buffer
		PrintErrors(&b, dir, err)
		t.Fatalf("%v\n%s", err, b.String())
	}
	return f, dir
}

// hostConfig returns what the generated module of h sets: its computed
// configuration with the fleet's derivation merged over it.
func hostConfig(t *testing.T, h *Host) map[string]any {
	t.Helper()
	nixos, err := decodeObject(h.h.NixOS())
	if err != nil {
		t.Fatal(err)
	}
	if h.h.Derived != nil {
		derived, err := decodeObject(h.h.Derived)
		if err != nil {
			t.Fatal(err)
		}
		overlayForTest(t, nixos, derived)
	}
	return nixos
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

var listenRx = regexp.MustCompile(`--web\.listen-address=:(\d+)`)

// listening returns the exporters a host's configuration runs, job name
// to the port it makes them listen on: the NixOS exporters' port options
// and the listen address in each fleet exporter service's command.
func listening(t *testing.T, h *Host, cfg map[string]any) map[string]string {
	out := map[string]string{}
	exps, _ := get(cfg, "services", "prometheus", "exporters").(map[string]any)
	for name, e := range exps {
		if get(e, "enable") == true {
			out[name] = fmt.Sprint(get(e, "port"))
		}
	}
	svcs, _ := get(cfg, "systemd", "services").(map[string]any)
	for name, s := range svcs {
		job, ok := strings.CutSuffix(name, "-exporter")
		script, _ := get(s, "script").(string)
		if m := listenRx.FindStringSubmatch(script); ok && m != nil {
			out[job] = m[1]
		}
	}
	return out
}

// scrapeTargets returns the server's scrape targets as "job host target".
func scrapeTargets(cfg map[string]any) []string {
	var out []string
	jobs, _ := get(cfg, "services", "prometheus", "scrapeConfigs").([]any)
	for _, j := range jobs {
		sc, _ := get(j, "static_configs").([]any)
		for _, s := range sc {
			ts, _ := get(s, "targets").([]any)
			for _, tg := range ts {
				out = append(out, fmt.Sprintf("%s %s %s", get(j, "job_name"), get(s, "labels", "host"), tg))
			}
		}
	}
	sort.Strings(out)
	return out
}

// wantTargets returns, for every host, a target per exporter its own
// configuration runs, at deploy.targetHost and the port it listens on.
func wantTargets(t *testing.T, f *Fleet) []string {
	var out []string
	for _, h := range f.hosts {
		v, _ := h.Value()
		addr := get(v, "deploy", "targetHost").(string)
		for job, port := range listening(t, h, hostConfig(t, h)) {
			out = append(out, fmt.Sprintf("%s %s %s:%s", job, h.Name, addr, port))
		}
	}
	sort.Strings(out)
	return out
}

// TestMonitoringTargets checks that dex5550, the monitoring server, scrapes
// every exporter every host runs, samsung included, at the port the
// exporter's own configuration makes it listen on, and that no other host
// scrapes anything.
func TestMonitoringTargets(t *testing.T) {
	f, _ := loadCopy(t, nil)
	want := wantTargets(t, f)
	for _, w := range []string{
		"node samsung samsung.home.freundcloud.com:9100",
		"systemd samsung samsung.home.freundcloud.com:9102",
		"nvidia-gpu p510 p510.home.freundcloud.com:9835",
		"nzbget p510 p510.home.freundcloud.com:9103",
		"plex p510 p510.home.freundcloud.com:9104",
	} {
		if !contains(want, w) {
			t.Errorf("the hosts' configurations run no exporter %q; the test would prove nothing", w)
		}
	}
	for _, h := range f.hosts {
		got := scrapeTargets(hostConfig(t, h))
		if h.Name != "dex5550" {
			if len(got) > 0 {
				t.Errorf("%s scrapes %v; only the monitoring server scrapes", h.Name, got)
			}
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dex5550's scrape targets (-every running exporter +scraped):\n%s", diff)
		}
	}
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

// newHost is one more laptop, declared in a file of its own: nothing of
// the monitoring server, the cache or the secrets is touched.
const newHost = `package fleet

hosts: t14: {
	template:        "laptop"
	hardwareProfile: "intel-igpu"
	stateVersion:    "25.05"
	deploy: {
		targetHost: "t14.home.freundcloud.com"
		hostKey:    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAZLbvhlHVP/2suPspPdQ0DWAHfkMwLUCwkxnZPce4lX root@t14"
	}
	hardware: fileSystems: {
		"/": {device: "/dev/disk/by-uuid/00000000-0000-4000-8000-000000001401", fsType: "ext4"}
		"/boot": {device: "/dev/disk/by-uuid/1401-0001", fsType: "vfat"}
	}
	users: olafkfreund: profiles: ["laptop-user"]
}
`

// TestAddedHost adds a host in a file of its own and checks that it shows
// up in the server's targets and dashboards, gets the cache, and is a
// recipient of the secrets it uses.
func TestAddedHost(t *testing.T) {
	f, dir := loadCopy(t, map[string]string{"t14.cue": newHost})
	h := f.byName["t14"]
	if h == nil {
		t.Fatal("t14 not loaded")
	}
	server := hostConfig(t, f.byName["dex5550"])
	got := scrapeTargets(server)
	for _, w := range []string{"node t14 t14.home.freundcloud.com:9100", "systemd t14 t14.home.freundcloud.com:9102"} {
		if !contains(got, w) {
			t.Errorf("dex5550 does not scrape %q: %v", w, got)
		}
	}
	if get(server, "environment", "etc", "grafana-dashboards/t14.json", "text") == nil {
		t.Error("dex5550 has no dashboard of t14")
	}
	cfg := hostConfig(t, h)
	if subs := fmt.Sprint(get(cfg, "nix", "settings", "extra-substituters")); !strings.Contains(subs, "http://p620.tail0a1b2c.ts.net:5000") {
		t.Errorf("t14's substituters %s lack the fleet's cache", subs)
	}
	if _, err := f.Generate(GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join(dir, "nix", "secrets", "secrets.nix"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := agenixRules("secrets.nix", rules)
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := lookupRule(keys, "tailscale-auth-key.age")
	if !contains(tk, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAZLbvhlHVP/2suPspPdQ0DWAHfkMwLUCwkxnZPce4lX root@t14") {
		t.Errorf("t14 uses tailscale-auth-key but is not a recipient: %v", tk)
	}
	nz, _ := lookupRule(keys, "nzbget-password.age")
	for _, k := range nz {
		if strings.HasSuffix(k, "root@t14") {
			t.Error("t14 is a recipient of nzbget-password, which it does not use")
		}
	}
}

// TestCacheClients checks every host but the cache substitutes from p620
// and trusts its key, and the cache serves with its signing key.
func TestCacheClients(t *testing.T) {
	f, _ := loadCopy(t, nil)
	const url, key = "http://p620.tail0a1b2c.ts.net:5000", "p620-cache-1:CMPHuW3KtQ/nLgm58ktLChxut34DtrPaamBq2v2usSQ="
	for _, h := range f.hosts {
		cfg := hostConfig(t, h)
		subs := fmt.Sprint(get(cfg, "nix", "settings", "extra-substituters"))
		keys := fmt.Sprint(get(cfg, "nix", "settings", "extra-trusted-public-keys"))
		has := strings.Contains(subs, url) && strings.Contains(keys, key)
		if h.Name == "p620" {
			if strings.Contains(subs, url) {
				t.Error("the cache substitutes from itself")
			}
			b, _ := json.Marshal(get(cfg, "services", "nix-serve"))
			if !strings.Contains(string(b), `"secretKeyFile":{"$secret":"nix-serve-signing-key"}`) {
				t.Errorf("p620's nix-serve = %s, want the signing key secret", b)
			}
			continue
		}
		if !has {
			t.Errorf("%s: substituters %s, keys %s; want the fleet's cache and key", h.Name, subs, keys)
		}
	}
}

// TestSecretRecipients checks the generated rules: a secret goes to the
// hosts that use it, the users it names and no other host.
func TestSecretRecipients(t *testing.T) {
	f, _ := loadCopy(t, nil)
	files, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	var rules map[string][]string
	for _, ef := range files {
		if ef.Path == "secrets/secrets.nix" {
			if rules, err = agenixRules(ef.Path, ef.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys, err := f.hostKeys()
	if err != nil {
		t.Fatal(err)
	}
	hostsOf := func(secret string) []string {
		r, ok := lookupRule(rules, secret+".age")
		if !ok {
			t.Fatalf("no rule for %s", secret)
		}
		var out []string
		for h, k := range keys {
			if contains(r, k) {
				out = append(out, h)
			}
		}
		sort.Strings(out)
		return out
	}
	for secret, want := range map[string][]string{
		"tailscale-auth-key":     {"dex5550", "p510", "p620", "razer", "samsung"},
		"nzbget-password":        {"p510"},
		"tautulli-api-key":       {"p510"},
		"grafana-admin-password": {"dex5550"},
		"nix-serve-signing-key":  {"p620"},
		"wifi-password":          {"p620", "razer"},
		"api-github-token":       nil,
	} {
		if diff := cmp.Diff(want, hostsOf(secret)); diff != "" {
			t.Errorf("%s host recipients (-want +got):\n%s", secret, diff)
		}
	}
}
