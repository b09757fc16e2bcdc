package hwimport

import (
	"slices"
	"sort"
	"strings"
)

// BootFacts are what the inputs say about how the machine boots: the
// boot.loader settings a hardware file may carry, and what a nixos-facter
// report saw. Pointers are nil when the input does not say.
type BootFacts struct {
	// SystemdBoot is boot.loader.systemd-boot.enable.
	SystemdBoot *bool
	// GRUB is boot.loader.grub.enable.
	GRUB *bool
	// GRUBDevice is boot.loader.grub.device, or "": a disk, or "nodev"
	// (installed to no disk's boot sector).
	GRUBDevice string
	// GRUBDevices are boot.loader.grub.devices, sorted.
	GRUBDevices []string
	// GRUBEFI is boot.loader.grub.efiSupport.
	GRUBEFI *bool
	// GRUBRemovable is boot.loader.grub.efiInstallAsRemovable.
	GRUBRemovable *bool
	// ESP is boot.loader.efi.efiSysMountPoint, or "".
	ESP string
	// CanTouchEFIVariables is boot.loader.efi.canTouchEfiVariables.
	CanTouchEFIVariables *bool
	// UEFI says whether the firmware supports UEFI (nixos-facter's
	// uefi.supported).
	UEFI *bool
	// Disks are the machine's disks (nixos-facter), each by its most
	// stable device name, sorted.
	Disks []string
}

// A BootLoader is the boot loader fleet writes for a machine, in the
// shape of the schema's #BootSpec, and how it was found.
type BootLoader struct {
	// Loader is "systemd-boot", "grub", "none", or "" when nothing shows
	// how the machine boots.
	Loader string
	// ESP is the EFI system partition's mount point, for a UEFI loader,
	// when it is not /boot or was stated.
	ESP string
	// CanTouchEFIVariables is stated or nil.
	CanTouchEFIVariables *bool
	// GRUBDevices are the disks GRUB is installed to.
	GRUBDevices []string
	// GRUBEFI and GRUBRemovable are GRUB's EFI settings.
	GRUBEFI, GRUBRemovable bool
	// Why says, in sentences for a comment above the value, what was
	// inferred rather than read, and what is left for the user to say.
	Why []string
}

// espMounts are the mount points fleet accepts for the EFI system
// partition, preferred first.
var espMounts = []string{"/boot", "/boot/efi"}

// BootLoader returns the boot loader the facts call for. Settings the
// input states win. Otherwise an EFI system partition (a vfat file system
// at /boot or /boot/efi) or a nixos-facter report of UEFI firmware means
// systemd-boot; a report of BIOS firmware, or file systems without an
// EFI system partition, mean GRUB in the boot sector of the machine's disk
// (named when the report shows exactly one).
func (f *Facts) BootLoader() BootLoader {
	b := f.Boot
	var l BootLoader
	l.CanTouchEFIVariables = b.CanTouchEFIVariables
	l.GRUBEFI = b.GRUBEFI != nil && *b.GRUBEFI
	l.GRUBRemovable = b.GRUBRemovable != nil && *b.GRUBRemovable
	nodev := false
	for _, d := range union(b.GRUBDevices, []string{b.GRUBDevice}) {
		switch d {
		case "":
		case "nodev":
			nodev = true
		default:
			l.GRUBDevices = append(l.GRUBDevices, d)
		}
	}
	esp := b.ESP
	if esp == "" {
		for _, m := range espMounts {
			if fs, ok := f.FileSystems[m]; ok && fs.FSType == "vfat" {
				esp = m
				break
			}
		}
	}
	if esp != "/boot" {
		l.ESP = esp
	}
	switch {
	case isTrue(b.SystemdBoot):
		l.Loader = "systemd-boot"
	case isTrue(b.GRUB) || len(l.GRUBDevices) > 0 || nodev:
		l.Loader = "grub"
	case b.GRUB != nil:
		l.Loader = "none"
		l.Why = append(l.Why, "The input turns GRUB off and names no other loader fleet knows: \"none\".")
	case b.UEFI != nil && *b.UEFI:
		l.Loader = "systemd-boot"
		l.Why = append(l.Why, "Inferred: the nixos-facter report says the firmware supports UEFI, so systemd-boot.")
		if esp == "" {
			l.Why = append(l.Why, "Mount the EFI system partition (vfat) at /boot: add it to fileSystems.")
		}
	case b.UEFI != nil:
		l.Loader = "grub"
		l.Why = append(l.Why, "Inferred: the nixos-facter report says the firmware has no UEFI (a BIOS machine), so GRUB in the boot sector of the disk.")
	case esp != "":
		l.Loader = "systemd-boot"
		l.Why = append(l.Why, "Inferred: an EFI system partition (vfat) is mounted at "+esp+", so the machine boots by UEFI: systemd-boot.")
	case len(f.FileSystems) > 0:
		l.Loader = "grub"
		l.Why = append(l.Why, "Inferred: no EFI system partition (vfat at /boot or /boot/efi) is mounted, so a BIOS machine: GRUB in the boot sector of the disk.")
	}
	if l.Loader == "grub" && !l.GRUBEFI && len(l.GRUBDevices) == 0 {
		if len(b.Disks) == 1 {
			l.GRUBDevices = b.Disks
			l.Why = append(l.Why, "GRUB goes to the machine's only disk, "+b.Disks[0]+".")
		} else {
			l.Why = append(l.Why, "Name the disk GRUB is installed to under grub.devices (/dev/disk/by-id/...).")
		}
	}
	if l.Loader != "systemd-boot" && !(l.Loader == "grub" && l.GRUBEFI) {
		l.ESP = ""
	}
	return l
}

func isTrue(b *bool) bool { return b != nil && *b }

// diskName returns the most stable name among a disk's device names: a
// /dev/disk/by-id/ link, else the kernel's name.
func diskName(names []string, kernel string) string {
	ids := slices.Clone(names)
	sort.Strings(ids)
	for _, n := range ids {
		if strings.HasPrefix(n, "/dev/disk/by-id/") && !strings.Contains(n, "/wwn-") {
			return n
		}
	}
	for _, n := range ids {
		if strings.HasPrefix(n, "/dev/disk/by-id/") {
			return n
		}
	}
	if strings.HasPrefix(kernel, "/dev/") {
		return kernel
	}
	for _, n := range names {
		if strings.HasPrefix(n, "/dev/") {
			return n
		}
	}
	return ""
}
