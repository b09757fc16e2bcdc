package disko

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
)

// A HostFileSystem is one entry of a host's hardware.fileSystems.
type HostFileSystem struct {
	// Device is the entry's device.
	Device string
	// FSType is its filesystem type.
	FSType string
	// Options are its mount options.
	Options []string
}

// A HostSwap is one entry of a host's hardware.swap.
type HostSwap struct {
	// Size is set (in MiB) for a swap file, 0 for a device.
	Size int64
}

// Check compares a valid layout with the host's filesystems (keyed by
// mount point) and swap (keyed by device). The host need not list the
// layout's filesystems, which disko's NixOS module mounts; those it lists
// must agree. Errors: a filesystem of the layout that the host mounts
// with another type or from another partition label; a host root
// filesystem the layout does not make; a different number of swap
// partitions. Warnings: mount
// options that differ, and host filesystems on block devices the layout
// does not make (the installer leaves them alone). Diagnostics carry the
// layout's data path, or the host's ("fileSystems", "/data").
func Check(l Layout, fileSystems map[string]HostFileSystem, swap map[string]HostSwap) diag.List {
	var errs diag.List
	made := map[string]bool{}
	var layoutSwap []string
	for _, d := range l.Disks {
		for _, p := range d.Partitions {
			pp := []string{"disks", d.Name, "partitions", p.Name}
			if p.Swap != nil {
				layoutSwap = append(layoutSwap, Device(d, p))
			}
			fs := p.Filesystem
			if fs == nil {
				continue
			}
			m := path.Clean(fs.Mountpoint)
			made[m] = true
			fp := append(pp, "filesystem")
			host, ok := fileSystems[m]
			if !ok {
				// disko's NixOS module mounts it: the host need not
				// repeat it.
				continue
			}
			if host.FSType != fs.Format {
				errAt(&errs, append(fp, "format"), "the layout formats %s as %s, the host mounts it as %s", m, fs.Format, host.FSType)
			}
			if byLabel(host.Device) && host.Device != Device(d, p) {
				errAt(&errs, []string{"fileSystems", m, "device"}, "the host mounts %s from %s, the layout makes it on %s", m, host.Device, Device(d, p))
			}
			if !slices.Equal(sortedSet(host.Options), sortedSet(fs.MountOptions)) {
				errs.Add(diag.Diagnostic{Severity: diag.Warning, Path: append(fp, "mountOptions"),
					Summary: fmt.Sprintf("mount options of %s differ: the layout has [%s], the host [%s]", m,
						strings.Join(sortedSet(fs.MountOptions), " "), strings.Join(sortedSet(host.Options), " ")),
					Detail: "the host's options win once it boots; make them equal to install what runs"})
			}
		}
	}
	var mounts []string
	for m := range fileSystems {
		mounts = append(mounts, m)
	}
	sort.Strings(mounts)
	for _, m := range mounts {
		host := fileSystems[m]
		if made[path.Clean(m)] || !strings.HasPrefix(host.Device, "/dev/") {
			continue
		}
		if path.Clean(m) == "/" {
			errAt(&errs, []string{"fileSystems", "/"}, "the layout does not make the root filesystem the host mounts from %s", host.Device)
			continue
		}
		errs.Add(diag.Diagnostic{Severity: diag.Warning, Path: []string{"fileSystems", m},
			Summary: fmt.Sprintf("%s (%s) is not on the disk layout; the installer leaves it alone", m, host.Device)})
	}
	var hostSwap []string
	for dev, s := range swap {
		if s.Size == 0 {
			hostSwap = append(hostSwap, dev)
		}
	}
	sort.Strings(hostSwap)
	if len(hostSwap) != len(layoutSwap) {
		errAt(&errs, []string{"swap"}, "the host has %d swap partition(s) [%s], the layout makes %d [%s]",
			len(hostSwap), strings.Join(hostSwap, " "), len(layoutSwap), strings.Join(layoutSwap, " "))
	} else {
		for _, dev := range hostSwap {
			if byLabel(dev) && !slices.Contains(layoutSwap, dev) {
				errAt(&errs, []string{"swap", dev}, "the host swaps on %s, which the layout does not make (it makes [%s])", dev, strings.Join(layoutSwap, " "))
			}
		}
	}
	return errs
}

// byLabel reports whether dev names a device by something the layout
// decides (a partition label or an opened LUKS volume), so that it can be
// compared; UUIDs are only known after formatting.
func byLabel(dev string) bool {
	return strings.HasPrefix(dev, "/dev/disk/by-partlabel/") || strings.HasPrefix(dev, "/dev/mapper/")
}

func sortedSet(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}
