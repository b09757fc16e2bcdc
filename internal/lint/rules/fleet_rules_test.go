package rules_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
)

func host(t *testing.T, name, js string) *lint.Host {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(js)))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &lint.Host{Name: name, Value: v, Where: func(path []string) (diag.Range, string) {
		return diag.Range{File: name + ".cue", Start: diag.Pos{Line: len(path), Col: 1}}, "host"
	}}
}

// TestFleetRules runs every fleet rule over a small fleet with one
// offending and one clean host, and checks the exact findings.
func TestFleetRules(t *testing.T) {
	bad := host(t, "bad", `{
		"network": {"ssh": {"enable": true, "port": 22},
			"firewall": {"enable": false, "allowedTCPPorts": {"ssh": 22, "old-web": 8080}, "allowedUDPPorts": {}}},
		"features": {
			"monitoring": {"enable": true, "role": "client", "serverHost": "good",
				"exporters": {"node": true, "systemd": false}, "ports": {"node": 9100, "systemd": 9102}},
			"media": {"enable": true, "nzbget": {"enable": true, "port": 22}, "tautulli": {"enable": false, "port": 8181},
				"plex": {"enable": false}, "exporters": {}},
			"ai": {"enable": false}},
		"nix": {"gc": {"enable": false}, "optimise": true, "serve": {"enable": false, "port": 5000},
			"substituters": {"http://cache.example.org": {}, "https://good.example.org": {"publicKey": "k"}}},
		"nixos": {
			"services": {"nzbget": {"settings": {"ControlPassword": "hunter22"}}},
			"systemd": {"services": {"x": {"serviceConfig": {"ExecStart": "x"}}}},
			"age": {"secrets": {"k": {"mode": "0444", "file": {"$nix": "./k.age"}}}}},
		"users": {"a": {"token": {"$secret": "used"}}}
	}`)
	bad.Value["stateVersion"] = "25.05"
	bad.Listeners = []lint.Listener{
		{Service: "sshd", Port: 22, Protocol: "tcp", Path: []string{"network", "ssh", "port"}},
		{Service: "NZBGet", Port: 22, Protocol: "tcp", Path: []string{"features", "media", "nzbget", "port"}},
		{Service: "the node exporter", Port: 9100, Protocol: "tcp", Path: []string{"features", "monitoring", "ports", "node"}},
		// One port, another protocol: no collision.
		{Service: "tailscaled", Port: 9100, Protocol: "udp", Path: []string{"network", "tailscale", "enable"}},
		// One port on two loopback and LAN addresses: no collision.
		{Service: "Ollama", Port: 11434, Protocol: "tcp", Address: "127.0.0.1", Path: []string{"features", "ai", "ollama", "port"}},
		{Service: "a VM's port", Port: 11434, Protocol: "tcp", Address: "192.168.1.10", Path: []string{"features", "microvms", "vms", "a", "forwardPorts", "x", "host"}},
		// Loopback against every address: a collision.
		{Service: "Prometheus", Port: 11434, Protocol: "tcp", Path: []string{"features", "monitoring", "ports", "prometheus"}},
	}
	bad.Recorded = map[string]lint.Recorded{"system.stateVersion": {Value: "24.11",
		Range: diag.Range{File: "nix/hosts/bad.nix", Start: diag.Pos{Line: 9, Col: 3}}}}
	good := host(t, "good", `{
		"network": {"ssh": {"enable": true, "port": 22}, "firewall": {"enable": true, "allowedTCPPorts": {"ssh": 22}}},
		"features": {"monitoring": {"enable": false, "role": "client", "exporters": {}, "ports": {}}},
		"nix": {"gc": {"enable": true}, "optimise": true, "serve": {"enable": false, "port": 5000}, "substituters": {}},
		"nixos": {"systemd": {"services": {"y": {"serviceConfig": {"DynamicUser": true, "ProtectSystem": "strict"}}}}}
	}`)
	fleetData := map[string]any{"secrets": map[string]any{"used": map[string]any{}, "orphan": map[string]any{}}}
	want := []string{
		"FV01 error bad nixos.services.nzbget.settings.ControlPassword: bad: nixos.services.nzbget.settings.ControlPassword is a literal secret; use a #SecretRef",
		"FV02 warning bad network.firewall.enable: bad: the firewall is disabled",
		"FV03 warning bad network.firewall.allowedTCPPorts.old-web: bad: port 8080 (old-web) is open but no enabled service listens on it",
		"FV04 error bad features.media.nzbget.port: bad: sshd and NZBGet both listen on TCP port 22",
		"FV04 error bad features.monitoring.ports.prometheus: bad: Ollama and Prometheus both listen on TCP port 11434 (Ollama on 127.0.0.1, Prometheus on every address)",
		"FV05 warning bad nixos.systemd.services.x.serviceConfig: bad: service x runs as root and has no hardening",
		"FV06 warning bad nix.gc.enable: bad: automatic garbage collection is off",
		"FV07 error bad features.monitoring.serverHost: bad: monitoring server \"good\" does not run the monitoring server",
		"FV07 error bad nix.substituters.https://good.example.org: bad: substituter https://good.example.org is host good, which serves no cache",
		"FV07 warning  secrets.orphan: secret \"orphan\" is declared but no host uses it",
		"FV08 warning bad features.monitoring.enable: bad: exporters run but no host runs the monitoring server",
		"FV09 error bad nixos.age.secrets.k.mode: bad: secret k is decrypted with mode 0444, readable by other users",
		"FV10 error bad nix.substituters.http://cache.example.org: bad: substituter http://cache.example.org uses plain HTTP",
		"FV10 warning bad nix.substituters.http://cache.example.org: bad: substituter http://cache.example.org has no public key",
		"FV12 error bad stateVersion: bad: stateVersion is \"25.05\" but the host was generated with \"24.11\"; it must not change once installed",
	}
	good.Listeners = []lint.Listener{{Service: "sshd", Port: 22, Protocol: "tcp", Path: []string{"network", "ssh", "port"}}}
	// good was generated with the stateVersion it still has.
	good.Value["stateVersion"] = "24.11"
	good.Recorded = map[string]lint.Recorded{"system.stateVersion": {Value: "24.11"}}
	got := []string{}
	for _, d := range lint.RunFleet(rules.All, []*lint.Host{bad, good}, fleetData, nil) {
		got = append(got, fmt.Sprintf("%s %s %s %s: %s", d.Rule.ID, d.Severity, d.Host, strings.Join(d.Path, "."), d.Message))
		if d.Host != "" && d.Range.File != d.Host+".cue" {
			t.Errorf("%s: finding not placed in the host's file: %v", d.Rule.ID, d.Range)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fleet findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("provenance and caches", func(t *testing.T) { testFixedAndCaches(t) })
}

// testFixedAndCaches checks FV11 over hosts with recorded provenance and
// FV13 over caches on and off an overlay network.
func testFixedAndCaches(t *testing.T) {
	at := func(host string, line int) diag.Range {
		return diag.Range{File: host + ".cue", Start: diag.Pos{Line: line, Col: 1}}
	}
	tmpl := func(v any) lint.Origin {
		return lint.Origin{Kind: "template", Layer: `template "server"`, Range: at("t", 1), Value: v}
	}
	prof := func(name string, v any) lint.Origin {
		return lint.Origin{Kind: "profile", Layer: `profile "` + name + `"`, Range: at("p", 1), Value: v}
	}
	onHost := func(host string, v any, doc bool) lint.Origin {
		return lint.Origin{Kind: "host", Layer: `host "` + host + `"`, Range: at(host, 7), Value: v, Doc: doc}
	}
	withLeaves := func(h *lint.Host, leaves ...lint.Leaf) *lint.Host {
		h.Fixed = []lint.Fixed{
			{Path: []string{"network", "ssh"}, Layer: `template "server"`, Range: at("t", 2)},
			{Path: []string{"users", "a", "home", "editors", "neovim"}, Layer: `profile "dev"`, Range: at("p", 2)},
		}
		h.Leaves = func(p []string) []lint.Leaf {
			var out []lint.Leaf
			for _, l := range leaves {
				if len(l.Path) >= len(p) && strings.Join(l.Path[:len(p)], ".") == strings.Join(p, ".") {
					out = append(out, l)
				}
			}
			return out
		}
		return h
	}
	ssh := []string{"network", "ssh", "permitRootLogin"}
	neovim := []string{"users", "a", "home", "editors", "neovim"}
	term := []string{"users", "a", "home", "terminals", "enable"}
	bad := withLeaves(host(t, "bad", `{
		"deploy": {"targetHost": "cache.example.org"},
		"nix": {"serve": {"enable": true, "port": 5000}}}`),
		lint.Leaf{Path: ssh, Set: onHost("bad", "yes", true), Overridden: []lint.Origin{tmpl("no")}},
		lint.Leaf{Path: neovim, Set: onHost("bad", false, false), Overridden: []lint.Origin{prof("dev", true)}},
		lint.Leaf{Path: term, Set: onHost("bad", false, false), Overridden: []lint.Origin{prof("dev", true), prof("admin", false)}})
	// good restates a fixed value, documents how it settles a conflict,
	// and serves its cache over Tailscale.
	good := withLeaves(host(t, "good", `{
		"deploy": {"targetHost": "good"},
		"network": {"tailscale": {"enable": true}},
		"nix": {"serve": {"enable": true, "port": 5000}}}`),
		lint.Leaf{Path: ssh, Set: onHost("good", "no", false), Overridden: []lint.Origin{tmpl("no")}},
		lint.Leaf{Path: neovim, Set: prof("dev", true)},
		lint.Leaf{Path: term, Set: onHost("good", false, true), Overridden: []lint.Origin{prof("dev", true), prof("admin", false)}})
	var hosts []*lint.Host
	for i, u := range []string{"http://100.101.2.3:5000", "http://[fd7a:115c:a1e0::1]:5000", "http://c.tail0a1b2c.ts.net", "https://cache.example.org", "http://192.168.1.2:5000"} {
		hosts = append(hosts, host(t, fmt.Sprintf("c%d", i), `{"nix": {"serve": {"enable": true, "port": 5000, "url": "`+u+`"}}}`))
	}
	want := []string{
		"FV11 info bad users.a.home.terminals.enable: bad: profile \"dev\" and profile \"admin\" disagree on users.a.home.terminals.enable; the host settles it without a comment saying why",
		"FV11 warning bad network.ssh.permitRootLogin: bad: host \"bad\" sets network.ssh.permitRootLogin to \"yes\", but template \"server\" fixes it at \"no\"",
		"FV11 warning bad users.a.home.editors.neovim: bad: host \"bad\" sets users.a.home.editors.neovim to false, but profile \"dev\" fixes it at true",
		"FV13 warning bad nix.serve: bad: the binary cache is served over plain HTTP at http://cache.example.org:5000, outside a private overlay network",
		"FV13 warning c4 nix.serve: c4: the binary cache is served over plain HTTP at http://192.168.1.2:5000, outside a private overlay network",
	}
	got := []string{}
	for _, d := range lint.RunFleet([]*lint.Rule{rules.OverrideOfFixed, rules.PlainHTTPCache}, append([]*lint.Host{bad, good}, hosts...), nil, nil) {
		got = append(got, fmt.Sprintf("%s %s %s %s: %s", d.Rule.ID, d.Severity, d.Host, strings.Join(d.Path, "."), d.Message))
		if d.Range.File != d.Host+".cue" {
			t.Errorf("%s: finding not placed in the host's file: %v", d.Rule.ID, d.Range)
		}
		if d.Rule.ID == "FV11" && len(d.Related) == 0 {
			t.Errorf("%s: no related position: %s", d.Rule.ID, d.Message)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
