// Package hwimport reads the hardware facts of a machine from the files
// NixOS tools write about it: a hardware-configuration.nix as
// nixos-generate-config writes it (and as people edit it), and a
// nixos-facter report.
//
// Both readers return the same Facts and a diag.List. Errors mean the
// input could not be read faithfully (a syntax error, a value that is not
// a literal, a duplicate mount point, a malformed report) and the facts
// must not be used. Warnings name, with their position, parts of the input
// that were read but are not hardware facts: settings carried over as
// free-form NixOS configuration (Facts.Extra) and imports fleet cannot
// follow. Nothing in the input is dropped without a diagnostic.
package hwimport

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
)

// Facts are the hardware facts of one machine, in the shape of fleet's
// #HardwareSpec plus the two host fields a hardware file also sets
// (platform and DHCP) and settings that are not hardware at all. Module
// and option lists are sets: sorted, without duplicates. The zero Facts
// states nothing. Facts are plain data, safe to share once built.
type Facts struct {
	// System is the Nix platform (nixpkgs.hostPlatform), or "".
	System string
	// DHCP is networking.useDHCP, or nil.
	DHCP *bool
	// CPU is the processor.
	CPU CPU
	// GPU holds the graphics devices found (nixos-facter reports only).
	GPU GPU
	// RedistributableFirmware is hardware.enableRedistributableFirmware,
	// or nil.
	RedistributableFirmware *bool
	// InitrdAvailableKernelModules is boot.initrd.availableKernelModules.
	InitrdAvailableKernelModules []string
	// InitrdKernelModules is boot.initrd.kernelModules.
	InitrdKernelModules []string
	// KernelModules is boot.kernelModules.
	KernelModules []string
	// KernelParams is boot.kernelParams.
	KernelParams []string
	// FileSystems are the mounted filesystems keyed by mount point.
	FileSystems map[string]FileSystem
	// Swap holds the swap devices keyed by device path.
	Swap map[string]Swap
	// Boot is what the input says about how the machine boots; BootLoader
	// turns it, with the file systems, into the loader to write.
	Boot BootFacts
	// Extra are literal NixOS settings of the input that are not hardware
	// facts, sorted by path. fleet carries them as the host's free-form
	// `nixos` configuration.
	Extra []Setting
	// Where maps a fact's path ("cpu.vendor", "fileSystems./boot",
	// "swap./dev/sda2", "system") to the place in the input that set it.
	Where map[string]diag.Range
}

// A CPU describes the processor.
type CPU struct {
	// Vendor is "amd", "intel" or "".
	Vendor string
	// Model is the model name, or "".
	Model string
	// Microcode says whether the vendor's microcode updates are installed,
	// or is nil.
	Microcode *bool
}

// A GPU lists the graphics devices by driver family; a nil entry means
// none was found.
type GPU struct {
	// AMD is an AMD GPU (amdgpu).
	AMD *GPUDevice
	// Nvidia is an NVIDIA GPU (nvidia or nouveau).
	Nvidia *GPUDevice
	// Intel is an Intel GPU (i915 or xe).
	Intel *GPUDevice
}

// A GPUDevice is one graphics device.
type GPUDevice struct {
	// Model is the device's model name, or "".
	Model string
}

// A FileSystem is one mounted filesystem.
type FileSystem struct {
	// Device is the block device or source.
	Device string
	// FSType is the filesystem type.
	FSType string
	// Options are the mount options, sorted, without duplicates.
	Options []string
}

// A Swap is one swap device. Size and Priority are 0 when not set.
type Swap struct {
	// Size, in MiB, makes the device a swap file of that size.
	Size int64
	// Priority orders swap devices; higher is used first.
	Priority int64
	// HasPriority is set when Priority was given (0 is a valid priority).
	HasPriority bool
}

// A Setting is one NixOS option the input sets that is not a hardware
// fact, carried over as data.
type Setting struct {
	// Path is the option path, one name per element.
	Path []string
	// Value is a string, bool, int64, float64, nil (null), []any or
	// map[string]any.
	Value any
	// Default is set when the input wrapped the value in lib.mkDefault.
	Default bool
	// Range is where the input sets it.
	Range diag.Range
}

// FileSystemTypes are the filesystem types fleet's schema accepts.
var FileSystemTypes = []string{"ext4", "vfat", "btrfs", "xfs", "zfs", "ntfs3", "exfat", "f2fs", "tmpfs", "nfs", "cifs"}

// Systems are the platforms fleet's schema accepts.
var Systems = []string{"x86_64-linux", "aarch64-linux"}

// NixOS returns the NixOS configuration the facts stand for, as the JSON
// data `nix-instantiate --eval --json` prints for a hardware file: nested
// maps, lists of strings sorted, swapDevices sorted by device, and
// lib.mkDefault dropped. Empty lists are left out, as they say nothing.
// GPU facts have no hardware-file form and are not included.
func (f *Facts) NixOS() map[string]any {
	out := map[string]any{}
	set := func(v any, path ...string) {
		m := out
		for _, k := range path[:len(path)-1] {
			sub, ok := m[k].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[k] = sub
			}
			m = sub
		}
		m[path[len(path)-1]] = v
	}
	list := func(ss []string, path ...string) {
		if len(ss) > 0 {
			l := make([]any, len(ss))
			for i, s := range ss {
				l[i] = s
			}
			set(l, path...)
		}
	}
	if f.System != "" {
		set(f.System, "nixpkgs", "hostPlatform")
	}
	if f.DHCP != nil {
		set(*f.DHCP, "networking", "useDHCP")
	}
	if f.RedistributableFirmware != nil {
		set(*f.RedistributableFirmware, "hardware", "enableRedistributableFirmware")
	}
	if f.CPU.Vendor != "" && f.CPU.Microcode != nil {
		set(*f.CPU.Microcode, "hardware", "cpu", f.CPU.Vendor, "updateMicrocode")
	}
	list(f.InitrdAvailableKernelModules, "boot", "initrd", "availableKernelModules")
	list(f.InitrdKernelModules, "boot", "initrd", "kernelModules")
	list(f.KernelModules, "boot", "kernelModules")
	list(f.KernelParams, "boot", "kernelParams")
	for _, m := range sortedKeys(f.FileSystems) {
		fs := f.FileSystems[m]
		e := map[string]any{"device": fs.Device, "fsType": fs.FSType}
		if len(fs.Options) > 0 {
			l := make([]any, len(fs.Options))
			for i, o := range fs.Options {
				l[i] = o
			}
			e["options"] = l
		}
		set(e, "fileSystems", m)
	}
	if len(f.Swap) > 0 {
		var l []any
		for _, d := range sortedKeys(f.Swap) {
			s := f.Swap[d]
			e := map[string]any{"device": d}
			if s.Size != 0 {
				e["size"] = s.Size
			}
			if s.HasPriority {
				e["priority"] = s.Priority
			}
			l = append(l, e)
		}
		set(l, "swapDevices")
	}
	flag := func(b *bool, path ...string) {
		if b != nil {
			set(*b, path...)
		}
	}
	flag(f.Boot.SystemdBoot, "boot", "loader", "systemd-boot", "enable")
	flag(f.Boot.GRUB, "boot", "loader", "grub", "enable")
	flag(f.Boot.GRUBEFI, "boot", "loader", "grub", "efiSupport")
	flag(f.Boot.GRUBRemovable, "boot", "loader", "grub", "efiInstallAsRemovable")
	flag(f.Boot.CanTouchEFIVariables, "boot", "loader", "efi", "canTouchEfiVariables")
	if f.Boot.GRUBDevice != "" {
		set(f.Boot.GRUBDevice, "boot", "loader", "grub", "device")
	}
	list(f.Boot.GRUBDevices, "boot", "loader", "grub", "devices")
	if f.Boot.ESP != "" {
		set(f.Boot.ESP, "boot", "loader", "efi", "efiSysMountPoint")
	}
	for _, s := range f.Extra {
		set(s.Value, s.Path...)
	}
	return out
}

// Merge adds the facts of b to a: sets are joined, and a scalar b states
// is taken when a does not state it. Two different values for one scalar
// are an error naming both places. b's Extra settings are appended.
func Merge(a, b *Facts) diag.List {
	var errs diag.List
	if a.Where == nil {
		a.Where = map[string]diag.Range{}
	}
	scalar := func(key string, av *string, bv string) {
		switch {
		case bv == "":
		case *av == "":
			*av = bv
			a.Where[key] = b.Where[key]
		case *av != bv:
			errs.Add(conflict(key, *av, bv, a.Where[key], b.Where[key]))
		}
	}
	boolean := func(key string, av **bool, bv *bool) {
		switch {
		case bv == nil:
		case *av == nil:
			*av = bv
			a.Where[key] = b.Where[key]
		case **av != *bv:
			errs.Add(conflict(key, *av, bv, a.Where[key], b.Where[key]))
		}
	}
	scalar("system", &a.System, b.System)
	boolean("networking.useDHCP", &a.DHCP, b.DHCP)
	scalar("cpu.vendor", &a.CPU.Vendor, b.CPU.Vendor)
	scalar("cpu.model", &a.CPU.Model, b.CPU.Model)
	boolean("cpu.microcode", &a.CPU.Microcode, b.CPU.Microcode)
	boolean("redistributableFirmware", &a.RedistributableFirmware, b.RedistributableFirmware)
	gpu := func(av **GPUDevice, bv *GPUDevice) {
		if *av == nil {
			*av = bv
		} else if bv != nil && (*av).Model == "" {
			(*av).Model = bv.Model
		}
	}
	gpu(&a.GPU.AMD, b.GPU.AMD)
	gpu(&a.GPU.Nvidia, b.GPU.Nvidia)
	gpu(&a.GPU.Intel, b.GPU.Intel)
	a.InitrdAvailableKernelModules = union(a.InitrdAvailableKernelModules, b.InitrdAvailableKernelModules)
	a.InitrdKernelModules = union(a.InitrdKernelModules, b.InitrdKernelModules)
	a.KernelModules = union(a.KernelModules, b.KernelModules)
	a.KernelParams = union(a.KernelParams, b.KernelParams)
	for _, m := range sortedKeys(b.FileSystems) {
		fs := b.FileSystems[m]
		key := "fileSystems." + m
		old, ok := a.FileSystems[m]
		if !ok {
			if a.FileSystems == nil {
				a.FileSystems = map[string]FileSystem{}
			}
			a.FileSystems[m] = fs
			a.Where[key] = b.Where[key]
			continue
		}
		if old.Device != fs.Device || old.FSType != fs.FSType || !slices.Equal(old.Options, fs.Options) {
			errs.Add(conflict(key, old, fs, a.Where[key], b.Where[key]))
		}
	}
	for _, d := range sortedKeys(b.Swap) {
		s := b.Swap[d]
		key := "swap." + d
		old, ok := a.Swap[d]
		if !ok {
			if a.Swap == nil {
				a.Swap = map[string]Swap{}
			}
			a.Swap[d] = s
			a.Where[key] = b.Where[key]
			continue
		}
		if old != s {
			errs.Add(conflict(key, old, s, a.Where[key], b.Where[key]))
		}
	}
	boolean("boot.loader.systemd-boot.enable", &a.Boot.SystemdBoot, b.Boot.SystemdBoot)
	boolean("boot.loader.grub.enable", &a.Boot.GRUB, b.Boot.GRUB)
	boolean("boot.loader.grub.efiSupport", &a.Boot.GRUBEFI, b.Boot.GRUBEFI)
	boolean("boot.loader.grub.efiInstallAsRemovable", &a.Boot.GRUBRemovable, b.Boot.GRUBRemovable)
	boolean("boot.loader.efi.canTouchEfiVariables", &a.Boot.CanTouchEFIVariables, b.Boot.CanTouchEFIVariables)
	boolean("uefi", &a.Boot.UEFI, b.Boot.UEFI)
	scalar("boot.loader.efi.efiSysMountPoint", &a.Boot.ESP, b.Boot.ESP)
	a.Boot.GRUBDevices = union(a.Boot.GRUBDevices, b.Boot.GRUBDevices)
	scalar("boot.loader.grub.device", &a.Boot.GRUBDevice, b.Boot.GRUBDevice)
	a.Boot.Disks = union(a.Boot.Disks, b.Boot.Disks)
	a.Extra = append(a.Extra, b.Extra...)
	sortSettings(a.Extra)
	errs.Sort()
	return errs
}

func conflict(key string, av, bv any, ar, br diag.Range) diag.Diagnostic {
	return diag.Diagnostic{
		Severity: diag.Error,
		Range:    br,
		Summary:  "the two sources disagree on " + key,
		Detail:   "one says " + show(av) + ", the other " + show(bv) + "; correct one of them",
		Related:  []diag.Related{{Range: ar, Message: "the other value of " + key}},
	}
}

// union returns the sorted set of the strings of a and b.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	sort.Strings(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortSettings(s []Setting) {
	sort.SliceStable(s, func(i, j int) bool {
		return slices.Compare(s[i].Path, s[j].Path) < 0
	})
}

// show formats a fact value for a message.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return `"` + v + `"`
	case *bool:
		if v == nil {
			return "nothing"
		}
		if *v {
			return "true"
		}
		return "false"
	case FileSystem:
		s := v.Device + " (" + v.FSType
		if len(v.Options) > 0 {
			s += "; " + strings.Join(v.Options, ",")
		}
		return s + ")"
	case Swap:
		var parts []string
		if v.Size != 0 {
			parts = append(parts, "size "+itoa(v.Size))
		}
		if v.HasPriority {
			parts = append(parts, "priority "+itoa(v.Priority))
		}
		if len(parts) == 0 {
			return "a swap partition"
		}
		return strings.Join(parts, ", ")
	}
	return "?"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
