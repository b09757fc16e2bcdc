package disko

import (
	"fmt"
	"path"
	"slices"

	"fleetnix.dev/fleet/internal/diag"
)

// A Boot is what a host's boot loader needs of its disks. The zero Boot
// needs nothing (a host that something else boots).
type Boot struct {
	// Loader names the loader in messages ("systemd-boot", "GRUB").
	Loader string
	// ESP, when set, is where the loader finds the EFI system partition
	// (systemd-boot, or GRUB's EFI build).
	ESP string
	// BIOS is set when GRUB is installed to disks' boot sectors: Devices,
	// and every disk of the layout with a BIOS boot partition.
	BIOS bool
	// Devices are the disks the host names for GRUB's boot sector.
	Devices []string
}

// CheckBoot compares a valid layout with the boot loader of its host.
// A loader that boots from the EFI system partition needs the layout to
// make it, mounted at b.ESP, with GPT type EF00 (firmware finds it by
// that type). GRUB in a disk's boot sector needs, on a disk of the
// layout (which is GPT), a BIOS boot partition (type EF02) to hold its
// core. Diagnostics carry the layout's data path.
func CheckBoot(l Layout, b Boot) diag.List {
	var errs diag.List
	if len(l.Disks) == 0 {
		return nil
	}
	if b.ESP != "" {
		found := false
		for _, d := range l.Disks {
			for _, p := range d.Partitions {
				if p.Filesystem == nil || path.Clean(p.Filesystem.Mountpoint) != path.Clean(b.ESP) {
					continue
				}
				found = true
				if p.Type != "EF00" {
					errs.Add(diag.Diagnostic{Severity: diag.Error,
						Path:    []string{"disks", d.Name, "partitions", p.Name, "type"},
						Summary: fmt.Sprintf("%s boots from the EFI system partition at %s, but the layout gives the partition mounted there GPT type %s, which firmware does not look in", b.Loader, b.ESP, typeName(p.Type)),
						Detail:  `set its type to "EF00" (EFI system partition)`})
				}
			}
		}
		if !found {
			d := l.Disks[0]
			errs.Add(diag.Diagnostic{Severity: diag.Error,
				Path:    []string{"disks", d.Name, "partitions"},
				Summary: fmt.Sprintf("%s boots from the EFI system partition at %s, which the disk layout does not make: the installed host would not boot", b.Loader, b.ESP),
				Detail:  fmt.Sprintf(`add a partition to disk %s, e.g. esp: {type: "EF00", size: "1G", priority: 1, filesystem: {format: "vfat", mountpoint: %q}}`, d.Name, b.ESP)})
		}
	}
	if b.BIOS {
		for _, d := range l.Disks {
			if !slices.Contains(b.Devices, d.Device) || hasBIOSBoot(d) {
				continue
			}
			errs.Add(diag.Diagnostic{Severity: diag.Error,
				Path:    []string{"disks", d.Name, "partitions"},
				Summary: fmt.Sprintf("%s is installed to the boot sector of %s, but the layout gives that GPT disk no BIOS boot partition to hold GRUB's core", b.Loader, d.Device),
				Detail:  `add a partition to disk ` + d.Name + `, e.g. bios: {type: "EF02", size: "1M", priority: 0}; disko then installs GRUB to the disk itself`})
		}
	}
	return errs
}

// hasBIOSBoot reports whether d has a BIOS boot partition.
func hasBIOSBoot(d Disk) bool {
	for _, p := range d.Partitions {
		if p.Type == "EF02" {
			return true
		}
	}
	return false
}

func typeName(t string) string {
	if t == "" {
		return "8300 (Linux data, the default)"
	}
	return t
}
