package fleet

import (
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// TestMergeInto merges one import into files that write the host in
// different shapes, and checks the merged values: the host's own values
// outside what the import writes stay, its hardware is the import's, and
// its network and nixos keep what the import does not set.
func TestMergeInto(t *testing.T) {
	imp, err := importFile(t, "web", filepath.Join(hwFixtures, "nix/amd-workstation/flat.nix"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, src string
		// want are CUE paths and the values they must have after the merge.
		want map[string]string
		// absent are paths that must be gone.
		absent []string
	}{
		{name: "network and nixos kept", src: `package fleet

hosts: web: {
	stateVersion: "25.05"
	network: tailscale: enable: true
	nixos: services: printing: enable: true
	hardware: gpu: nvidia: enable: true
}
`, want: map[string]string{
			`hosts.web.stateVersion`:                   `"25.05"`,
			`hosts.web.network.tailscale.enable`:       `true`,
			`hosts.web.nixos.services.printing.enable`: `true`,
			`hosts.web.hardware.cpu.vendor`:            `"amd"`,
		}, absent: []string{`hosts.web.hardware.gpu`}},
		{name: "struct without braces", src: `package fleet

hosts: web: stateVersion: "25.05"
`, want: map[string]string{`hosts.web.stateVersion`: `"25.05"`, `hosts.web.hardware.cpu.vendor`: `"amd"`}},
		{name: "hardware written twice in the host", src: `package fleet

hosts: web: {
	hardware: cpu: vendor: "intel"
	deploy: targetHost: "web"
	hardware: fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}
}
`, want: map[string]string{`hosts.web.deploy.targetHost`: `"web"`, `hosts.web.hardware.cpu.vendor`: `"amd"`,
			`hosts.web.hardware.fileSystems."/".device`: `"/dev/disk/by-uuid/3f1c0c52-8a4e-4d55-9b0e-2d7f6c1a9e01"`}},
		{name: "among other hosts", src: `package fleet

hosts: {
	db: stateVersion: "25.05"
	web: {stateVersion: "24.11"}
}
`, want: map[string]string{`hosts.db.stateVersion`: `"25.05"`, `hosts.web.stateVersion`: `"24.11"`, `hosts.web.hardware.cpu.vendor`: `"amd"`},
			absent: []string{`hosts.db.hardware`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := imp.MergeInto(HardwareSource{File: "hosts.cue", Src: []byte(c.src)})
			if err != nil {
				t.Fatal(err)
			}
			v := cuecontext.New().CompileBytes(m.CUE)
			if err := v.Err(); err != nil {
				t.Fatalf("the merged file does not compile: %v\n%s", err, m.CUE)
			}
			for p, want := range c.want {
				got := v.LookupPath(cue.ParsePath(p))
				if !got.Exists() || strings.TrimSpace(cueSource(got)) != want {
					t.Errorf("%s = %s, want %s\n%s", p, cueSource(got), want, m.CUE)
				}
			}
			for _, p := range c.absent {
				if v.LookupPath(cue.ParsePath(p)).Exists() {
					t.Errorf("%s is still there\n%s", p, m.CUE)
				}
			}
			if strings.Count(string(m.CUE), "hosts:") != strings.Count(c.src, "hosts:") {
				t.Errorf("the merge added a hosts declaration:\n%s", m.CUE)
			}
		})
	}
}

func cueSource(v cue.Value) string {
	b, err := v.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}
