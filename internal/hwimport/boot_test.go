package hwimport

import (
	"os"
	"reflect"
	"testing"
)

func TestBootFromNix(t *testing.T) {
	f, errs := readNix(t, "testdata/odd/bootloader.nix")
	if errs.HasErrors() {
		t.Fatal(errs)
	}
	no := false
	yes := true
	want := BootFacts{GRUB: &yes, GRUBDevice: "/dev/sda", GRUBDevices: []string{"/dev/disk/by-id/ata-SECOND"},
		GRUBEFI: &no, CanTouchEFIVariables: &no, ESP: "/boot/efi"}
	if !reflect.DeepEqual(f.Boot, want) {
		t.Errorf("boot facts %+v, want %+v", f.Boot, want)
	}
	if len(errs) != 0 {
		t.Errorf("boot.loader settings are facts, yet: %v", errs)
	}
	got := f.BootLoader()
	wantL := BootLoader{Loader: "grub", CanTouchEFIVariables: &no, GRUBDevices: []string{"/dev/disk/by-id/ata-SECOND", "/dev/sda"}}
	if !reflect.DeepEqual(got, wantL) {
		t.Errorf("loader %+v, want %+v", got, wantL)
	}
}

func TestBootBadNix(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{ boot.loader.grub.device = "sda"; }`, `unsupported GRUB device "sda"`},
		{`{ boot.loader.efi.efiSysMountPoint = "/efi"; }`, `unsupported EFI system partition mount point "/efi"`},
		{`{ boot.loader.systemd-boot.enable = "yes"; }`, `boot.loader.systemd-boot.enable must be true or false, found "yes"`},
	} {
		_, errs := FromNix("bad.nix", []byte(tc.src))
		if !errs.HasErrors() || errs[0].Summary != tc.want {
			t.Errorf("%s: %v, want %q", tc.src, errs, tc.want)
		}
	}
}

func TestBootLoaderInference(t *testing.T) {
	yes, no := true, false
	esp := func(m string) map[string]FileSystem {
		return map[string]FileSystem{"/": {Device: "/dev/sda2", FSType: "ext4"}, m: {Device: "/dev/sda1", FSType: "vfat"}}
	}
	rootOnly := map[string]FileSystem{"/": {Device: "/dev/sda2", FSType: "ext4"}}
	for _, tc := range []struct {
		name  string
		facts Facts
		want  BootLoader
	}{
		{"nothing known", Facts{}, BootLoader{}},
		{"ESP at /boot", Facts{FileSystems: esp("/boot")}, BootLoader{Loader: "systemd-boot",
			Why: []string{"Inferred: an EFI system partition (vfat) is mounted at /boot, so the machine boots by UEFI: systemd-boot."}}},
		{"ESP at /boot/efi", Facts{FileSystems: esp("/boot/efi")}, BootLoader{Loader: "systemd-boot", ESP: "/boot/efi",
			Why: []string{"Inferred: an EFI system partition (vfat) is mounted at /boot/efi, so the machine boots by UEFI: systemd-boot."}}},
		{"no ESP", Facts{FileSystems: rootOnly}, BootLoader{Loader: "grub",
			Why: []string{"Inferred: no EFI system partition (vfat at /boot or /boot/efi) is mounted, so a BIOS machine: GRUB in the boot sector of the disk.",
				"Name the disk GRUB is installed to under grub.devices (/dev/disk/by-id/...)."}}},
		{"facter: BIOS, one disk", Facts{FileSystems: rootOnly, Boot: BootFacts{UEFI: &no, Disks: []string{"/dev/disk/by-id/ata-ONE"}}},
			BootLoader{Loader: "grub", GRUBDevices: []string{"/dev/disk/by-id/ata-ONE"},
				Why: []string{"Inferred: the nixos-facter report says the firmware has no UEFI (a BIOS machine), so GRUB in the boot sector of the disk.",
					"GRUB goes to the machine's only disk, /dev/disk/by-id/ata-ONE."}}},
		{"facter: UEFI, no file systems", Facts{Boot: BootFacts{UEFI: &yes}}, BootLoader{Loader: "systemd-boot",
			Why: []string{"Inferred: the nixos-facter report says the firmware supports UEFI, so systemd-boot.",
				"Mount the EFI system partition (vfat) at /boot: add it to fileSystems."}}},
		{"stated systemd-boot", Facts{FileSystems: rootOnly, Boot: BootFacts{SystemdBoot: &yes, CanTouchEFIVariables: &yes}},
			BootLoader{Loader: "systemd-boot", CanTouchEFIVariables: &yes}},
		{"stated GRUB for EFI only", Facts{FileSystems: esp("/boot"), Boot: BootFacts{GRUBDevice: "nodev", GRUBEFI: &yes, GRUBRemovable: &yes}},
			BootLoader{Loader: "grub", GRUBEFI: true, GRUBRemovable: true}},
		{"GRUB turned off", Facts{FileSystems: rootOnly, Boot: BootFacts{GRUB: &no}}, BootLoader{Loader: "none",
			Why: []string{`The input turns GRUB off and names no other loader fleet knows: "none".`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.facts.BootLoader(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestBootFromFacter(t *testing.T) {
	src, err := os.ReadFile("testdata/facter/bios-server.json")
	if err != nil {
		t.Fatal(err)
	}
	f, errs := FromFacter("bios-server.json", src)
	if errs.HasErrors() {
		t.Fatal(errs)
	}
	if f.Boot.UEFI == nil || *f.Boot.UEFI {
		t.Errorf("UEFI = %v, want false", f.Boot.UEFI)
	}
	if want := []string{"/dev/disk/by-id/ata-SAMSUNG_SSD_870_EVO_500GB_S000"}; !reflect.DeepEqual(f.Boot.Disks, want) {
		t.Errorf("disks %v, want %v", f.Boot.Disks, want)
	}
	if l := f.BootLoader(); l.Loader != "grub" || !reflect.DeepEqual(l.GRUBDevices, f.Boot.Disks) {
		t.Errorf("loader %+v", l)
	}
}
