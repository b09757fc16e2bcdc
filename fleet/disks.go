package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/disko"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/merge"
)

// This file reads hosts' disk layouts (the disks field) and checks them
// when the fleet is loaded: each layout must be installable
// (disko.Validate) and agree with the host's hardware.fileSystems and
// hardware.swap (disko.Check), the flake needs a disko input, and someone
// must be able to log in to the host's installer. The keys that may are
// the SSH keys of the host's users in the wheel group: the people who
// administer the host once installed.

// diskFacts are the fields of a host's final value its layout is read
// and checked with.
type diskFacts struct {
	Disks    map[string]diskValue `json:"disks"`
	Hardware struct {
		FileSystems map[string]struct {
			Device  string          `json:"device"`
			FSType  string          `json:"fsType"`
			Options map[string]bool `json:"options"`
		} `json:"fileSystems"`
		Swap map[string]struct {
			Size int64 `json:"size"`
		} `json:"swap"`
		Boot bootValue `json:"boot"`
	} `json:"hardware"`
	Users map[string]struct {
		Groups  map[string]bool   `json:"groups"`
		SSHKeys map[string]string `json:"sshKeys"`
	} `json:"users"`
}

// bootValue is a host's final hardware.boot.
type bootValue struct {
	Loader    string `json:"loader"`
	Container bool   `json:"container"`
	EFI       struct {
		MountPoint        string `json:"mountPoint"`
		CanTouchVariables bool   `json:"canTouchVariables"`
	} `json:"efi"`
	GRUB struct {
		Devices map[string]bool `json:"devices"`
		EFI     bool            `json:"efi"`
	} `json:"grub"`
}

// boot returns what the host's boot loader needs of its disks.
func (b *bootValue) boot() disko.Boot {
	switch {
	case b.Container:
		return disko.Boot{}
	case b.Loader == "systemd-boot":
		return disko.Boot{Loader: "systemd-boot", ESP: b.EFI.MountPoint}
	case b.Loader == "grub" && b.GRUB.EFI:
		return disko.Boot{Loader: "GRUB", ESP: b.EFI.MountPoint, BIOS: len(enabled(b.GRUB.Devices)) > 0, Devices: enabled(b.GRUB.Devices)}
	case b.Loader == "grub":
		return disko.Boot{Loader: "GRUB", BIOS: true, Devices: enabled(b.GRUB.Devices)}
	}
	return disko.Boot{}
}

// efiVariables reports whether installing the host's loader writes the
// firmware's boot entries, which needs a machine booted by UEFI.
func (b *bootValue) efiVariables() bool {
	return b.boot().ESP != "" && b.EFI.CanTouchVariables
}

type diskValue struct {
	Device     string                    `json:"device"`
	Partitions map[string]partitionValue `json:"partitions"`
}

type partitionValue struct {
	Size       string `json:"size"`
	Priority   *int64 `json:"priority"`
	Type       string `json:"type"`
	Filesystem *struct {
		Format       string          `json:"format"`
		Mountpoint   string          `json:"mountpoint"`
		MountOptions map[string]bool `json:"mountOptions"`
		ExtraArgs    []string        `json:"extraArgs"`
	} `json:"filesystem"`
	Swap *struct {
		RandomEncryption bool `json:"randomEncryption"`
		ResumeDevice     bool `json:"resumeDevice"`
	} `json:"swap"`
	LUKS *struct {
		Name          string `json:"name"`
		PasswordFile  string `json:"passwordFile"`
		AllowDiscards bool   `json:"allowDiscards"`
	} `json:"luks"`
}

// layoutOf returns the disk layout of a host's value: disks sorted by
// name, each disk's partitions by priority, then name (partitions without
// a priority after those with one), and mount options sorted.
func layoutOf(facts *diskFacts) disko.Layout {
	var l disko.Layout
	for _, dn := range sortedNames(facts.Disks) {
		dv := facts.Disks[dn]
		d := disko.Disk{Name: dn, Device: dv.Device}
		names := sortedNames(dv.Partitions)
		sort.SliceStable(names, func(i, j int) bool {
			pi, pj := dv.Partitions[names[i]].Priority, dv.Partitions[names[j]].Priority
			switch {
			case pi == nil || pj == nil:
				return pi != nil && pj == nil
			default:
				return *pi < *pj
			}
		})
		for _, pn := range names {
			pv := dv.Partitions[pn]
			p := disko.Partition{Name: pn, Size: pv.Size, Type: pv.Type}
			if fs := pv.Filesystem; fs != nil {
				p.Filesystem = &disko.Filesystem{Format: fs.Format, Mountpoint: fs.Mountpoint,
					MountOptions: enabled(fs.MountOptions), ExtraArgs: fs.ExtraArgs}
			}
			if s := pv.Swap; s != nil {
				p.Swap = &disko.Swap{RandomEncryption: s.RandomEncryption, ResumeDevice: s.ResumeDevice}
			}
			if k := pv.LUKS; k != nil {
				p.LUKS = &disko.LUKS{Name: k.Name, PasswordFile: k.PasswordFile, AllowDiscards: k.AllowDiscards}
			}
			d.Partitions = append(d.Partitions, p)
		}
		l.Disks = append(l.Disks, d)
	}
	return l
}

// enabled returns the keys of m whose value is true, sorted.
func enabled(m map[string]bool) []string {
	var out []string
	for _, k := range sortedNames(m) {
		if m[k] {
			out = append(out, k)
		}
	}
	return out
}

// adminKeys returns the SSH keys of the host's users in the wheel group,
// by user name and then key label, without repeats.
func adminKeys(facts *diskFacts) []string {
	var keys []string
	seen := map[string]bool{}
	for _, u := range sortedNames(facts.Users) {
		uv := facts.Users[u]
		if !uv.Groups["wheel"] {
			continue
		}
		for _, label := range sortedNames(uv.SSHKeys) {
			if k := uv.SSHKeys[label]; !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// checkDisks reads every host's disk layout and checks it. Errors and
// warnings are reported where the user wrote the offending value; a
// problem of a template's layout is reported once, not once per host.
func (f *Fleet) checkDisks() diag.List {
	var diags diag.List
	seen := map[string]bool{}
	add := func(d diag.Diagnostic) {
		key := d.Range.String() + "\x00" + d.Detail + "\x00" + d.Summary[strings.Index(d.Summary, ": ")+1:]
		if !seen[key] {
			seen[key] = true
			diags.Add(d)
		}
	}
	var inputs struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	json.Unmarshal(f.l.Settings, &inputs)
	for _, h := range f.hosts {
		// Most hosts have no disk layout: skip reading their whole value.
		if !bytes.Contains(h.h.JSON(), []byte(`"disks":`)) {
			continue
		}
		var facts diskFacts
		if err := json.Unmarshal(h.h.JSON(), &facts); err != nil {
			add(diag.Diagnostic{Severity: diag.Error, Range: h.h.Decl, Path: []string{"hosts", h.Name},
				Summary: fmt.Sprintf("hosts.%s: reading the disk layout: %v", h.Name, err)})
			continue
		}
		if len(facts.Disks) == 0 {
			continue
		}
		l := layoutOf(&facts)
		problems := disko.Validate(l)
		if len(problems) == 0 {
			fss := map[string]disko.HostFileSystem{}
			for m, fs := range facts.Hardware.FileSystems {
				fss[m] = disko.HostFileSystem{Device: fs.Device, FSType: fs.FSType, Options: enabled(fs.Options)}
			}
			swap := map[string]disko.HostSwap{}
			for dev, s := range facts.Hardware.Swap {
				swap[dev] = disko.HostSwap{Size: s.Size}
			}
			problems = disko.Check(l, fss, swap)
			problems = append(problems, disko.CheckBoot(l, facts.Hardware.Boot.boot())...)
		}
		for _, p := range problems {
			add(h.layoutDiag(p))
		}
		if _, ok := inputs.Inputs[emit.DiskoInput]; !ok {
			add(diag.Diagnostic{Severity: diag.Error, Range: h.rangeOf([]string{"disks"}), Path: []string{"hosts", h.Name, "disks"},
				Summary: fmt.Sprintf("hosts.%s.disks: a disk layout needs the flake input %q, which settings.inputs does not have", h.Name, emit.DiskoInput),
				Detail:  `add settings.inputs.disko with disko's flake reference (its NixOS module is nixosModules.disko), e.g. url: "github:nix-community/disko" and follows: nixpkgs: "nixpkgs"`})
		}
		keys := adminKeys(&facts)
		if len(keys) == 0 {
			add(diag.Diagnostic{Severity: diag.Error, Range: h.rangeOf([]string{"disks"}), Path: []string{"hosts", h.Name, "disks"},
				Summary: fmt.Sprintf("hosts.%s.disks: nobody could log in to the host's installer: no user of the host in the wheel group has sshKeys", h.Name),
				Detail:  "the installer accepts SSH logins only by the keys of the host's wheel users, never by a password"})
		}
		if !problems.HasErrors() {
			h.layout, h.adminKeys = &l, keys
			h.loader, h.efiVariables = facts.Hardware.Boot.Loader, facts.Hardware.Boot.efiVariables()
		}
	}
	diags.Sort()
	return diags
}

// layoutDiag places a diagnostic of disko.Validate or disko.Check, whose
// path is within the layout ("disks", ...) or within the host's hardware
// ("fileSystems", ... or "swap", ...), at the user's position of that
// value.
func (h *Host) layoutDiag(d diag.Diagnostic) diag.Diagnostic {
	path := d.Path
	if len(path) > 0 && path[0] != "disks" {
		path = append([]string{"hardware"}, path...)
	}
	d.Range = h.rangeOf(path)
	d.Path = append([]string{"hosts", h.Name}, path...)
	d.Summary = "hosts." + h.Name + "." + formatPath(path) + ": " + d.Summary
	return d
}

// rangeOf returns where the value at path of the host was written: the
// leaf there, or the first written leaf below the deepest struct on the
// path, or else the host's declaration.
func (h *Host) rangeOf(path []string) diag.Range {
	n, _ := h.tree().Nearest(path)
	if o := n.Leaf(); o != nil && o.Range.Start.IsValid() {
		return o.Range
	}
	if o := n.Decl(); o != nil && o.Range.Start.IsValid() {
		return o.Range
	}
	var first diag.Range
	n.Leaves(nil, func(_ []string, l *merge.Node) {
		r := l.Leaf().Range
		if !r.Start.IsValid() {
			return
		}
		if !first.Start.IsValid() || r.File < first.File || r.File == first.File && r.Start.Offset < first.Start.Offset {
			first = r
		}
	})
	if first.Start.IsValid() {
		return first
	}
	return h.h.Decl
}
