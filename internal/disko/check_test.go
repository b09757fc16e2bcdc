package disko

import (
	"fmt"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
)

func summaries(l diag.List) []string {
	var out []string
	for _, d := range l {
		out = append(out, fmt.Sprintf("%s: %s: %s", d.Severity, strings.Join(d.Path, "."), d.Summary))
	}
	return out
}

func matchAll(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("diagnostic %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}

func TestValidate(t *testing.T) {
	fs := func(format, m string) *Filesystem { return &Filesystem{Format: format, Mountpoint: m} }
	bad := Layout{Disks: []Disk{
		{Name: "main", Device: "/dev/sda", Partitions: []Partition{
			{Name: "esp", Size: "512M", Type: "EF00", Filesystem: fs("ext4", "/boot"), LUKS: &LUKS{Name: "x"}},
			{Name: "root", Size: "100%", Filesystem: fs("ext4", "/")},
			{Name: "more", Size: "10G", Filesystem: fs("btrfs", "/"), Swap: &Swap{}},
			{Name: "empty", Size: "1G"},
			{Name: "Bad_Name", Size: "ten", Type: "zz", Filesystem: fs("ntfs", "home")},
		}},
		{Name: "data", Device: "/dev/sda", Partitions: []Partition{
			{Name: "data", Size: "100%", Filesystem: fs("xfs", "/mnt/data/"), LUKS: &LUKS{Name: "x", PasswordFile: "key"}},
		}},
		{Name: "data", Device: "sdc"},
	}}
	matchAll(t, summaries(Validate(bad)), []string{
		"error: disks.main.partitions.esp.filesystem.format: the EFI system partition esp must be vfat",
		"error: disks.main.partitions.esp.luks: the EFI system partition esp cannot be encrypted",
		"error: disks.main.partitions.root.size: only the last partition",
		"error: disks.main.partitions.more: partition more holds both a filesystem and swap",
		"error: disks.main.partitions.more.filesystem.mountpoint: mount point / is also mounted by disks.main.partitions.root",
		"error: disks.main.partitions.empty: partition empty holds neither a filesystem nor swap",
		`error: disks.main.partitions.Bad_Name: partition name "Bad_Name" is not a name`,
		`error: disks.main.partitions.Bad_Name.size: partition size "ten" is not a size`,
		`error: disks.main.partitions.Bad_Name.type: GPT type "zz"`,
		`error: disks.main.partitions.Bad_Name.filesystem.format: unsupported filesystem format "ntfs"`,
		`error: disks.main.partitions.Bad_Name.filesystem.mountpoint: mount point "home" is not absolute`,
		"error: disks.data.device: disks main and data are the same device /dev/sda",
		"error: disks.data.partitions.data.luks.name: LUKS volume name x is also used by disks.main.partitions.esp",
		`error: disks.data.partitions.data.luks.passwordFile: passwordFile "key" is not an absolute path`,
		"error: disks.data: disk data is given twice",
		`error: disks.data.device: disk device "sdc" is not under /dev`,
		"error: disks.data: disk data has no partitions",
	})
	for name, l := range layouts(t) {
		if errs := Validate(l); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestCheck(t *testing.T) {
	l := layouts(t)["workstation"]
	good := map[string]HostFileSystem{
		"/":     {Device: "/dev/mapper/crypted", FSType: "ext4"},
		"/boot": {Device: "/dev/disk/by-uuid/ABCD-0001", FSType: "vfat", Options: []string{"umask=0077"}},
	}
	swap := map[string]HostSwap{"/dev/disk/by-partlabel/disk-main-swap": {}, "/swapfile": {Size: 4096}}
	if errs := Check(l, good, swap); len(errs) > 0 {
		t.Fatalf("consistent layout: %v", summaries(errs))
	}
	bad := map[string]HostFileSystem{
		"/":         {Device: "/dev/disk/by-partlabel/disk-main-root", FSType: "btrfs"},
		"/mnt/data": {Device: "/dev/sdb1", FSType: "ext4"},
		"/tmp":      {Device: "none", FSType: "tmpfs"},
	}
	matchAll(t, summaries(Check(l, bad, map[string]HostSwap{"/dev/disk/by-uuid/1234": {}, "/dev/sdc2": {}})), []string{
		"error: disks.main.partitions.root.filesystem.format: the layout formats / as ext4, the host mounts it as btrfs",
		"error: fileSystems./.device: the host mounts / from /dev/disk/by-partlabel/disk-main-root, the layout makes it on /dev/mapper/crypted",
		"warning: fileSystems./mnt/data: /mnt/data (/dev/sdb1) is not on the disk layout",
		"error: swap: the host has 2 swap partition(s) [/dev/disk/by-uuid/1234 /dev/sdc2], the layout makes 1 [/dev/disk/by-partlabel/disk-main-swap]",
	})
	noRoot := map[string]HostFileSystem{
		"/":         {Device: "/dev/nvme1n1p2", FSType: "ext4"},
		"/mnt/data": {Device: "/dev/disk/by-uuid/0000", FSType: "xfs", Options: []string{"noatime", "nofail"}},
	}
	dataOnly := Layout{Disks: layouts(t)["twodisks"].Disks[1:]}
	matchAll(t, summaries(Check(dataOnly, noRoot, nil)), []string{
		"error: fileSystems./: the layout does not make the root filesystem the host mounts from /dev/nvme1n1p2",
	})
	matchAll(t, summaries(Check(layouts(t)["twodisks"], noRoot, nil)), []string{
		"error: swap: the host has 0 swap partition(s)",
	})
	opts := map[string]HostFileSystem{
		"/":     {Device: "/dev/mapper/crypted", FSType: "ext4"},
		"/boot": {Device: "/dev/disk/by-uuid/ABCD-0001", FSType: "vfat"},
	}
	matchAll(t, summaries(Check(l, opts, map[string]HostSwap{"/dev/disk/by-partlabel/disk-main-other": {}})), []string{
		"warning: disks.main.partitions.esp.filesystem.mountOptions: mount options of /boot differ: the layout has [umask=0077], the host []",
		"error: swap./dev/disk/by-partlabel/disk-main-other: the host swaps on /dev/disk/by-partlabel/disk-main-other, which the layout does not make",
	})
}

func TestCheckBoot(t *testing.T) {
	fs := func(format, m string) *Filesystem { return &Filesystem{Format: format, Mountpoint: m} }
	layout := Layout{Disks: []Disk{
		{Name: "main", Device: "/dev/sda", Partitions: []Partition{
			{Name: "esp", Size: "1G", Type: "EF00", Filesystem: fs("vfat", "/boot")},
			{Name: "root", Size: "100%", Filesystem: fs("ext4", "/")},
		}},
		{Name: "data", Device: "/dev/sdb", Partitions: []Partition{
			{Name: "bios", Size: "1M", Type: "EF02"},
			{Name: "data", Size: "100%", Filesystem: fs("xfs", "/data")},
		}},
	}}
	for _, tc := range []struct {
		name string
		boot Boot
		want []string
	}{
		{"systemd-boot", Boot{Loader: "systemd-boot", ESP: "/boot"}, nil},
		{"nothing needed", Boot{}, nil},
		{"esp elsewhere", Boot{Loader: "systemd-boot", ESP: "/boot/efi"}, []string{
			"error: disks.main.partitions: systemd-boot boots from the EFI system partition at /boot/efi, which the disk layout does not make",
		}},
		{"esp is data", Boot{Loader: "GRUB", ESP: "/data"}, []string{
			"error: disks.data.partitions.data.type: GRUB boots from the EFI system partition at /data, but the layout gives the partition mounted there GPT type 8300",
		}},
		{"bios on a disk with EF02", Boot{Loader: "GRUB", BIOS: true, Devices: []string{"/dev/sdb"}}, nil},
		{"bios on a disk without", Boot{Loader: "GRUB", BIOS: true, Devices: []string{"/dev/sda", "/dev/sdc"}}, []string{
			"error: disks.main.partitions: GRUB is installed to the boot sector of /dev/sda, but the layout gives that GPT disk no BIOS boot partition",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			matchAll(t, summaries(CheckBoot(layout, tc.boot)), tc.want)
		})
	}
	if got := CheckBoot(Layout{}, Boot{Loader: "systemd-boot", ESP: "/boot"}); len(got) != 0 {
		t.Errorf("a host without a layout: %v", summaries(got))
	}
}
