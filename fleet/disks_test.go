package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/internal/disko"
)

func TestLayoutOf(t *testing.T) {
	const value = `{
  "disks": {
    "b": {"device": "/dev/sdb", "partitions": {"data": {"size": "100%", "filesystem": {"format": "xfs", "mountpoint": "/data", "mountOptions": {"noatime": true, "nofail": true, "ro": false}}}}},
    "a": {"device": "/dev/sda", "partitions": {
      "root": {"size": "100%", "filesystem": {"format": "ext4", "mountpoint": "/", "extraArgs": ["-L", "root"]}},
      "swap": {"size": "8G", "priority": 2, "swap": {"resumeDevice": true}, "luks": {"name": "cswap", "allowDiscards": true}},
      "esp": {"size": "1G", "priority": 1, "type": "EF00", "filesystem": {"format": "vfat", "mountpoint": "/boot"}},
      "bios": {"size": "1M", "priority": 1, "type": "EF02"}
    }}
  },
  "users": {
    "bob": {"groups": {"wheel": true}, "sshKeys": {"z": "ssh-ed25519 BBBB bob@z", "a": "ssh-ed25519 AAAA bob@a"}},
    "alice": {"groups": {"wheel": true}, "sshKeys": {"x": "ssh-ed25519 AAAA bob@a"}},
    "carol": {"groups": {"wheel": false, "video": true}, "sshKeys": {"c": "ssh-ed25519 CCCC carol"}}
  }
}`
	var facts diskFacts
	if err := json.Unmarshal([]byte(value), &facts); err != nil {
		t.Fatal(err)
	}
	want := disko.Layout{Disks: []disko.Disk{
		{Name: "a", Device: "/dev/sda", Partitions: []disko.Partition{
			{Name: "bios", Size: "1M", Type: "EF02"},
			{Name: "esp", Size: "1G", Type: "EF00", Filesystem: &disko.Filesystem{Format: "vfat", Mountpoint: "/boot"}},
			{Name: "swap", Size: "8G", Swap: &disko.Swap{ResumeDevice: true}, LUKS: &disko.LUKS{Name: "cswap", AllowDiscards: true}},
			{Name: "root", Size: "100%", Filesystem: &disko.Filesystem{Format: "ext4", Mountpoint: "/", ExtraArgs: []string{"-L", "root"}}},
		}},
		{Name: "b", Device: "/dev/sdb", Partitions: []disko.Partition{
			{Name: "data", Size: "100%", Filesystem: &disko.Filesystem{Format: "xfs", Mountpoint: "/data", MountOptions: []string{"noatime", "nofail"}}},
		}},
	}}
	if diff := cmp.Diff(want, layoutOf(&facts)); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	// alice's key is bob's first one: listed once, where alice has it.
	wantKeys := []string{"ssh-ed25519 AAAA bob@a", "ssh-ed25519 BBBB bob@z"}
	if diff := cmp.Diff(wantKeys, adminKeys(&facts)); diff != "" {
		t.Errorf("admin keys (-want +got):\n%s", diff)
	}
}

// TestDiskProblemsAtPositions loads a fleet whose layout disagrees with
// the host's filesystems and checks each problem is reported at the CUE
// value that causes it, and a problem of a template's layout once for all
// its hosts.
func TestDiskProblemsAtPositions(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"cue.mod/module.cue": "module: \"example.test/fleet@v0\"\nlanguage: version: \"v0.17.0\"\n",
		"fleet.cue": `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

settings: inputs: {
	nixpkgs: url: "github:NixOS/nixpkgs/nixos-25.05"
	disko: url:   "github:nix-community/disko"
}
users: root2: {groups: wheel: true, sshKeys: k: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetTestKey admin"}
`,
		"templates.cue": `package fleet

templates: small: disks: main: {
	device: "/dev/vda"
	partitions: {
		esp: {size: "512M", priority: 1, type: "EF00", filesystem: {format: "vfat", mountpoint: "/boot"}}
		root: {size: "100%", filesystem: {format: "xfs", mountpoint: "/"}}
	}
}
templates: small: hardware: boot: loader: "systemd-boot"
`,
		"hosts.cue": `package fleet

_fs: {
	"/": {device: "/dev/disk/by-uuid/1", fsType: "ext4"}
	"/boot": {device: "/dev/disk/by-partlabel/disk-main-boot", fsType: "vfat"}
}
hosts: a: {
	template:     "small"
	stateVersion: "25.05"
	deploy: targetHost: "192.0.2.1"
	users: root2: {}
	hardware: fileSystems: _fs
}
hosts: c: {
	template:     "small"
	stateVersion: "25.05"
	deploy: targetHost: "192.0.2.3"
	users: root2: {}
	hardware: fileSystems: _fs
}
hosts: b: {
	template:     "small"
	stateVersion: "25.05"
	deploy: targetHost: "192.0.2.2"
	users: root2: {}
	hardware: fileSystems: _fs
	disks: main: partitions: root: size: "100G"
	disks: main: partitions: swap: {size: "100%", luks: name: "crypted"}
}
`,
	}
	writeTree(t, dir, files)
	_, err := Load(context.Background(), &Config{Dir: dir})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load = %v, want Errors", err)
	}
	var got []string
	for _, d := range errs {
		got = append(got, d.Pos.String()+": "+d.Severity.String()+": "+d.Summary)
	}
	want := []string{
		// b's partition swap holds neither swap nor a filesystem: its
		// layout is invalid, so it is not compared with its filesystems.
		// The error is at the struct's field.
		"hosts.cue:28:27: error: hosts.b.disks.main.partitions.swap: partition swap holds neither a filesystem nor swap",
		// The template's value and the shared _fs, reported once for a
		// and c; b's layout is invalid.
		"templates.cue:7:45: error: hosts.a.disks.main.partitions.root.filesystem.format: the layout formats / as xfs, the host mounts it as ext4",
		`hosts.cue:5:20: error: hosts.a.hardware.fileSystems."/boot".device: the host mounts /boot from /dev/disk/by-partlabel/disk-main-boot, the layout makes it on /dev/disk/by-partlabel/disk-main-esp`,
	}
	for i := range got {
		got[i] = strings.TrimPrefix(got[i], dir+string(filepath.Separator))
	}
	if diff := cmp.Diff(sortedCopy(want), sortedCopy(got)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
