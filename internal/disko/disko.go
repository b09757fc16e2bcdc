// Package disko turns a host's disk layout into disko configuration,
// checks the layout against the host's filesystems and swap, and builds
// the NixOS module of the host's live installer.
//
// A Layout is plain data, decoded from the schema's #DiskLayoutSpec. Config
// builds the disko module as a Nix syntax tree with the constructors of
// package syntax and prints it with package format; nothing is assembled
// from strings. Validate and Check report problems as diagnostics that
// name the layout's data path.
package disko

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A Layout is the disks of one host. The zero Layout has no disks.
type Layout struct {
	// Disks are the disks, in the order they are emitted.
	Disks []Disk
}

// A Disk is one disk with a GPT partition table.
type Disk struct {
	// Name is the disk's short name ("main").
	Name string
	// Device is the disk's block device.
	Device string
	// Partitions are laid out in this order.
	Partitions []Partition
}

// A Partition is one GPT partition holding exactly one of Filesystem and
// Swap, inside LUKS when LUKS is set; a BIOS boot partition (type EF02)
// holds neither.
type Partition struct {
	// Name is the partition's name; disko labels it disk-<disk>-<name>.
	Name string
	// Size is "512M", "100G" or "100%" (the rest of the disk).
	Size string
	// Type is the GPT type code ("EF00"), or "" for Linux data.
	Type string
	// Filesystem is the filesystem made on the partition, or nil.
	Filesystem *Filesystem
	// Swap makes the partition swap, when not nil.
	Swap *Swap
	// LUKS encrypts the partition, when not nil.
	LUKS *LUKS
}

// A Filesystem is made with mkfs and mounted.
type Filesystem struct {
	// Format is the filesystem type ("ext4").
	Format string
	// Mountpoint is the absolute mount point.
	Mountpoint string
	// MountOptions are mount options, sorted.
	MountOptions []string
	// ExtraArgs are extra mkfs arguments, in order.
	ExtraArgs []string
}

// A Swap is a swap partition.
type Swap struct {
	// RandomEncryption encrypts it with a random key at each boot.
	RandomEncryption bool
	// ResumeDevice makes it the hibernation resume device.
	ResumeDevice bool
}

// A LUKS is the encryption of a partition.
type LUKS struct {
	// Name is the volume's name under /dev/mapper.
	Name string
	// PasswordFile holds the passphrase on the installer, or is "".
	PasswordFile string
	// AllowDiscards passes TRIM through.
	AllowDiscards bool
}

// Formats are the filesystem types a layout may make.
var Formats = []string{"ext4", "vfat", "btrfs", "xfs", "f2fs"}

var (
	nameRx = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	sizeRx = regexp.MustCompile(`^([1-9][0-9]*[KMGT]|100%)$`)
	typeRx = regexp.MustCompile(`^[0-9A-F]{4}$`)
)

// Device returns the block device disko gives partition p of disk d: its
// partition label, or the opened LUKS volume when p is encrypted. That is
// where its filesystem or swap lives.
func Device(d Disk, p Partition) string {
	if p.LUKS != nil {
		return "/dev/mapper/" + p.LUKS.Name
	}
	return "/dev/disk/by-partlabel/disk-" + d.Name + "-" + p.Name
}

func errAt(l *diag.List, p []string, format string, args ...any) {
	l.Add(diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf(format, args...), Path: slices.Clone(p)})
}

// Validate checks that l can be installed: names and sizes well formed,
// each partition holding one filesystem or swap, "100%" only last, the EFI
// partition vfat, and no mount point, LUKS name or disk device used twice.
// Diagnostics carry the path of the offending value ("disks", "main",
// "partitions", "root").
func Validate(l Layout) diag.List {
	var errs diag.List
	mounts := map[string][]string{}
	luks := map[string][]string{}
	devices := map[string]string{}
	disks := map[string]bool{}
	for _, d := range l.Disks {
		dp := []string{"disks", d.Name}
		if !nameRx.MatchString(d.Name) {
			errAt(&errs, dp, "disk name %q is not a name (lower-case letters, digits, dashes)", d.Name)
		}
		if disks[d.Name] {
			errAt(&errs, dp, "disk %s is given twice", d.Name)
		}
		disks[d.Name] = true
		if !strings.HasPrefix(d.Device, "/dev/") {
			errAt(&errs, append(dp, "device"), "disk device %q is not under /dev", d.Device)
		} else if other, dup := devices[d.Device]; dup {
			errAt(&errs, append(dp, "device"), "disks %s and %s are the same device %s", other, d.Name, d.Device)
		}
		devices[d.Device] = d.Name
		if len(d.Partitions) == 0 {
			errAt(&errs, dp, "disk %s has no partitions", d.Name)
		}
		parts := map[string]bool{}
		for i, p := range d.Partitions {
			pp := append(slices.Clone(dp), "partitions", p.Name)
			if !nameRx.MatchString(p.Name) {
				errAt(&errs, pp, "partition name %q is not a name", p.Name)
			}
			if parts[p.Name] {
				errAt(&errs, pp, "partition %s is given twice on disk %s", p.Name, d.Name)
			}
			parts[p.Name] = true
			switch {
			case !sizeRx.MatchString(p.Size):
				errAt(&errs, append(pp, "size"), "partition size %q is not a size such as 512M, 100G or 100%%", p.Size)
			case p.Size == "100%" && i != len(d.Partitions)-1:
				errAt(&errs, append(pp, "size"), "only the last partition of a disk may take the rest of it (100%%)")
			}
			if p.Type != "" && !typeRx.MatchString(p.Type) {
				errAt(&errs, append(pp, "type"), "GPT type %q is not a four-digit hex code such as EF00", p.Type)
			}
			switch {
			case p.Filesystem == nil && p.Swap == nil && p.Type != "EF02":
				errAt(&errs, pp, "partition %s holds neither a filesystem nor swap", p.Name)
			case p.Filesystem != nil && p.Swap != nil:
				errAt(&errs, pp, "partition %s holds both a filesystem and swap", p.Name)
			}
			if fs := p.Filesystem; fs != nil {
				fp := append(slices.Clone(pp), "filesystem")
				if !slices.Contains(Formats, fs.Format) {
					errAt(&errs, append(fp, "format"), "unsupported filesystem format %q", fs.Format)
				}
				if !strings.HasPrefix(fs.Mountpoint, "/") {
					errAt(&errs, append(fp, "mountpoint"), "mount point %q is not absolute", fs.Mountpoint)
				} else {
					m := path.Clean(fs.Mountpoint)
					if prev, dup := mounts[m]; dup {
						errAt(&errs, append(fp, "mountpoint"), "mount point %s is also mounted by %s", m, strings.Join(prev, "."))
					}
					mounts[m] = fp[:len(fp)-1]
				}
				if p.Type == "EF00" && fs.Format != "vfat" {
					errAt(&errs, append(fp, "format"), "the EFI system partition %s must be vfat, not %s", p.Name, fs.Format)
				}
			}
			if p.Type == "EF00" && p.Filesystem == nil {
				errAt(&errs, pp, "the EFI system partition %s needs a vfat filesystem", p.Name)
			}
			if k := p.LUKS; k != nil {
				kp := append(slices.Clone(pp), "luks")
				if !nameRx.MatchString(k.Name) {
					errAt(&errs, append(kp, "name"), "LUKS volume name %q is not a name", k.Name)
				} else if prev, dup := luks[k.Name]; dup {
					errAt(&errs, append(kp, "name"), "LUKS volume name %s is also used by %s", k.Name, strings.Join(prev, "."))
				}
				luks[k.Name] = pp
				if k.PasswordFile != "" && !strings.HasPrefix(k.PasswordFile, "/") {
					errAt(&errs, append(kp, "passwordFile"), "passwordFile %q is not an absolute path", k.PasswordFile)
				}
				if p.Type == "EF00" {
					errAt(&errs, kp, "the EFI system partition %s cannot be encrypted: the firmware reads it", p.Name)
				}
			}
		}
	}
	return errs
}

// Config returns the disko module of l, formatted: { disko.devices.disk
// = { ... }; }. Partitions get explicit priorities in their order, so disko
// lays them out as the layout lists them. l must be valid.
func Config(l Layout) ([]byte, error) { return printFile(ConfigFile(l)) }

// ConfigFile returns the syntax tree Config prints.
func ConfigFile(l Layout) *syntax.File {
	var disks []syntax.Binding
	for _, d := range l.Disks {
		var parts []syntax.Binding
		for i, p := range d.Partitions {
			b := []syntax.Binding{
				syntax.Bind("priority", syntax.IntLit(int64(i+1))),
				syntax.Bind("size", syntax.Str(p.Size)),
			}
			if p.Type != "" {
				b = append(b, syntax.Bind("type", syntax.Str(p.Type)))
			}
			if p.Filesystem != nil || p.Swap != nil {
				b = append(b, syntax.Bind("content", content(p)))
			}
			parts = append(parts, syntax.BindPath([]string{p.Name}, syntax.Attrs(b...)))
		}
		disk := syntax.Attrs(
			syntax.Bind("type", syntax.Str("disk")),
			syntax.Bind("device", syntax.Str(d.Device)),
			syntax.Bind("content", syntax.Attrs(
				syntax.Bind("type", syntax.Str("gpt")),
				syntax.Bind("partitions", syntax.Attrs(parts...)),
			)),
		)
		disks = append(disks, syntax.BindPath([]string{d.Name}, disk))
	}
	top := syntax.Attrs(syntax.Bind("disko.devices.disk", syntax.Attrs(disks...)))
	return syntax.NewFile(syntax.WithComment[syntax.Expr](top, "Code generated by fleetgen. DO NOT EDIT.", "The disk layout of the host, for disko."))
}

// printFile formats f.
func printFile(f *syntax.File) ([]byte, error) {
	var buf bytes.Buffer
	if err := format.Node(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// content returns the content of a partition: its filesystem or swap,
// wrapped in LUKS when encrypted.
func content(p Partition) syntax.Expr {
	var inner []syntax.Binding
	switch {
	case p.Filesystem != nil:
		fs := p.Filesystem
		inner = []syntax.Binding{
			syntax.Bind("type", syntax.Str("filesystem")),
			syntax.Bind("format", syntax.Str(fs.Format)),
			syntax.Bind("mountpoint", syntax.Str(fs.Mountpoint)),
		}
		if len(fs.MountOptions) > 0 {
			inner = append(inner, syntax.Bind("mountOptions", strList(fs.MountOptions)))
		}
		if len(fs.ExtraArgs) > 0 {
			inner = append(inner, syntax.Bind("extraArgs", strList(fs.ExtraArgs)))
		}
	case p.Swap != nil:
		inner = []syntax.Binding{syntax.Bind("type", syntax.Str("swap"))}
		if p.Swap.RandomEncryption {
			inner = append(inner, syntax.Bind("randomEncryption", syntax.Bool(true)))
		}
		if p.Swap.ResumeDevice {
			inner = append(inner, syntax.Bind("resumeDevice", syntax.Bool(true)))
		}
	}
	if p.LUKS == nil {
		return syntax.Attrs(inner...)
	}
	b := []syntax.Binding{
		syntax.Bind("type", syntax.Str("luks")),
		syntax.Bind("name", syntax.Str(p.LUKS.Name)),
	}
	if p.LUKS.PasswordFile != "" {
		b = append(b, syntax.Bind("passwordFile", syntax.Str(p.LUKS.PasswordFile)))
	}
	if p.LUKS.AllowDiscards {
		b = append(b, syntax.Bind("settings.allowDiscards", syntax.Bool(true)))
	}
	b = append(b, syntax.Bind("content", syntax.Attrs(inner...)))
	return syntax.Attrs(b...)
}

func strList(ss []string) *syntax.List {
	var es []syntax.Expr
	for _, s := range ss {
		es = append(es, syntax.Str(s))
	}
	return syntax.ListOf(es...)
}
