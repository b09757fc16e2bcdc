package rules_test

import (
	"encoding/json"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
)

// lockoutHost is a host deployed as alice over SSH on port 22, whose NixOS
// configuration keeps every way in open; each case of TestDeployLockout
// changes one thing.
const lockoutHost = `{
  "services": {"openssh": {"enable": true, "openFirewall": true, "ports": [22],
    "settings": {"PermitRootLogin": "prohibit-password"}}},
  "networking": {"firewall": {"enable": true, "allowedTCPPorts": [80]}},
  "security": {"sudo": {"wheelNeedsPassword": false}},
  "users": {"users": {"alice": {"isNormalUser": true, "extraGroups": ["wheel"],
    "shell": {"$pkg": "zsh"},
    "openssh": {"authorizedKeys": {"keys": ["ssh-ed25519 AAAA alice"]}}}}}
}`

func TestDeployLockout(t *testing.T) {
	for _, tt := range []struct {
		name   string
		value  string // the host value's deploy and nixos, JSON
		change func(n map[string]any)
		port   int
		want   string // a risk's message contains it; "" means none
		path   string
	}{
		{name: "open", want: ""},
		{name: "open on the port in use", port: 22, want: ""},
		{name: "sshd off", value: `{"network": {"ssh": {"enable": false}}}`,
			change: func(n map[string]any) { set(n, false, "services", "openssh", "enable") },
			want:   "sshd would not run", path: "network.ssh.enable"},
		{name: "sshd off by force", value: `{"nixos": {"services": {"openssh": {"enable": {"$force": false}}}}}`,
			change: func(n map[string]any) { set(n, map[string]any{"$force": false}, "services", "openssh", "enable") },
			want:   "sshd would not run", path: "nixos.services.openssh.enable"},
		{name: "moved", value: `{"network": {"ssh": {"port": 22}}}`, port: 2222, want: "sshd would listen on port 22, not on port 2222", path: "network.ssh.port"},
		{name: "firewalled", change: func(n map[string]any) { set(n, false, "services", "openssh", "openFirewall") },
			want: "the firewall would close sshd's port 22 on every interface"},
		{name: "firewalled, port in use", port: 22, change: func(n map[string]any) { set(n, false, "services", "openssh", "openFirewall") },
			want: "the firewall would close port 22, which the deployer uses, on every interface"},
		{name: "firewall off", change: func(n map[string]any) {
			set(n, false, "services", "openssh", "openFirewall")
			set(n, false, "networking", "firewall", "enable")
		}, want: ""},
		{name: "open in a range", change: func(n map[string]any) {
			set(n, false, "services", "openssh", "openFirewall")
			set(n, []any{map[string]any{"from": 20.0, "to": 30.0}}, "networking", "firewall", "allowedTCPPortRanges")
		}, want: ""},
		{name: "open on tailscale only, deployed over the tailnet", value: `{"deploy": {"targetHost": "100.100.1.2"}}`,
			change: func(n map[string]any) {
				set(n, false, "services", "openssh", "openFirewall")
				set(n, []any{"tailscale0"}, "networking", "firewall", "trustedInterfaces")
			}, want: ""},
		{name: "open on tailscale only, deployed over the LAN", value: `{"deploy": {"targetHost": "192.168.1.2"}}`,
			change: func(n map[string]any) {
				set(n, false, "services", "openssh", "openFirewall")
				set(n, []any{"tailscale0"}, "networking", "firewall", "trustedInterfaces")
			}, want: "would close sshd's port 22 on every interface"},
		{name: "open on the deploy interface", value: `{"deploy": {"interface": "eth1"}}`,
			change: func(n map[string]any) {
				set(n, false, "services", "openssh", "openFirewall")
				set(n, []any{22.0}, "networking", "firewall", "interfaces", "eth1", "allowedTCPPorts")
			}, want: ""},
		{name: "not allowed", value: `{"features": {"security": {"sshHardening": {"allowUsers": {"bob": true}}}}}`,
			change: func(n map[string]any) { set(n, []any{"bob"}, "services", "openssh", "settings", "AllowUsers") },
			want:   "sshd would let only bob log in, not the deploy user alice", path: "features.security.sshHardening.allowUsers"},
		{name: "allowed by pattern", change: func(n map[string]any) { set(n, []any{"al*@10.0.0.*"}, "services", "openssh", "settings", "AllowUsers") },
			want: ""},
		{name: "denied", change: func(n map[string]any) { set(n, []any{"alice"}, "services", "openssh", "settings", "DenyUsers") },
			want: "sshd would refuse the deploy user alice (DenyUsers)"},
		{name: "group not allowed", change: func(n map[string]any) { set(n, []any{"ssh-users"}, "services", "openssh", "settings", "AllowGroups") },
			want: "the deploy user alice is in none of them"},
		{name: "group allowed", change: func(n map[string]any) { set(n, []any{"wheel"}, "services", "openssh", "settings", "AllowGroups") },
			want: ""},
		{name: "root refused", value: `{"deploy": {"targetUser": "root"}, "network": {"ssh": {"permitRootLogin": "no"}}}`,
			change: func(n map[string]any) { set(n, "no", "services", "openssh", "settings", "PermitRootLogin") },
			want:   "sshd would refuse root logins (PermitRootLogin no)", path: "network.ssh.permitRootLogin"},
		{name: "no keys, home keys read", change: func(n map[string]any) {
			set(n, []any{}, "users", "users", "alice", "openssh", "authorizedKeys", "keys")
		},
			want: ""},
		{name: "no keys at all", change: func(n map[string]any) {
			set(n, []any{}, "users", "users", "alice", "openssh", "authorizedKeys", "keys")
			set(n, false, "services", "openssh", "authorizedKeysInHomedir")
		}, want: "would have no authorized key sshd reads"},
		{name: "nologin", change: func(n map[string]any) {
			set(n, "/run/current-system/sw/bin/nologin", "users", "users", "alice", "shell")
		},
			want: "the shell /run/current-system/sw/bin/nologin, which refuses logins"},
		{name: "sudo wants a password", change: func(n map[string]any) { set(n, true, "security", "sudo", "wheelNeedsPassword") },
			want: "sudo would ask the deploy user alice for a password"},
		{name: "sudo default wants a password", change: func(n map[string]any) { delete(n["security"].(map[string]any), "sudo") },
			want: "security.sudo.wheelNeedsPassword is true"},
		{name: "NOPASSWD rule", change: func(n map[string]any) {
			set(n, true, "security", "sudo", "wheelNeedsPassword")
			set(n, []any{map[string]any{"users": []any{"alice"}, "commands": []any{map[string]any{"command": "ALL", "options": []any{"NOPASSWD"}}}}},
				"security", "sudo", "extraRules")
		}, want: ""},
		{name: "not in wheel", change: func(n map[string]any) { set(n, []any{"video"}, "users", "users", "alice", "extraGroups") },
			want: "would not be in wheel nor have a NOPASSWD sudo rule"},
		{name: "sudo off", change: func(n map[string]any) { set(n, false, "security", "sudo", "enable") },
			want: "sudo would be disabled"},
		{name: "raw Nix is given the benefit of the doubt", change: func(n map[string]any) {
			set(n, map[string]any{"$nix": "lib.mkForce false"}, "services", "openssh", "enable")
			set(n, map[string]any{"$nix": "true"}, "security", "sudo", "wheelNeedsPassword")
		}, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var nixos map[string]any
			if err := json.Unmarshal([]byte(lockoutHost), &nixos); err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(nixos)
			}
			value := map[string]any{"deploy": map[string]any{"targetHost": "web.example", "targetUser": "alice"}}
			if tt.value != "" {
				var extra map[string]any
				if err := json.Unmarshal([]byte(tt.value), &extra); err != nil {
					t.Fatal(err)
				}
				merge(value, extra)
			}
			h := &lint.Host{Name: "web", Value: value, NixOS: nixos}
			risks := rules.LockoutRisks(h, tt.port)
			if tt.want == "" {
				if len(risks) != 0 {
					t.Errorf("risks %v, want none", risks)
				}
				return
			}
			if len(risks) != 1 || !strings.Contains(risks[0].Message, tt.want) {
				t.Fatalf("risks %v, want one saying %q", risks, tt.want)
			}
			if tt.path != "" && strings.Join(risks[0].Path, ".") != tt.path {
				t.Errorf("at %s, want %s", strings.Join(risks[0].Path, "."), tt.path)
			}
		})
	}
	// A value the schema's defaults set is not the user's to fix there:
	// the finding goes to the host.
	var nixos map[string]any
	json.Unmarshal([]byte(lockoutHost), &nixos)
	set(nixos, false, "services", "openssh", "enable")
	h := &lint.Host{Name: "web", NixOS: nixos,
		Value: map[string]any{"network": map[string]any{"ssh": map[string]any{"enable": false}}},
		Where: func(p []string) (diag.Range, string) {
			return diag.Range{File: "/fleet/cue.mod/pkg/schema/host.cue"}, "schema default"
		}}
	if r := rules.LockoutRisks(h, 0); len(r) != 1 || r[0].Path != nil {
		t.Errorf("sshd off by default: %+v, want one risk at the host", r)
	}
	// Nor is one the fleet places at the user's struct above it, naming
	// no layer.
	h.Where = func(p []string) (diag.Range, string) {
		return diag.Range{File: "/fleet/hosts.cue", Start: diag.Pos{Line: 3, Col: 8}}, ""
	}
	if r := rules.LockoutRisks(h, 0); len(r) != 1 || r[0].Path != nil {
		t.Errorf("sshd off by default, placed at the host's struct: %+v, want one risk at the host", r)
	}
	// Without a NixOS configuration there is nothing to check.
	if r := rules.LockoutRisks(&lint.Host{Name: "x"}, 22); r != nil {
		t.Errorf("no configuration: %v", r)
	}
}

// set puts v at path in m, making the structs on the way.
func set(m map[string]any, v any, path ...string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// merge puts the leaves of src into dst.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
