package build

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/model"
)

// A Preview is what deploying a host would change, found out before
// anything is activated.
type Preview struct {
	// Closure is how the new system's closure differs from the running
	// one's; nil when the host runs no system yet or is built on itself.
	Closure *ClosureDiff
	// Units are what activating the new system would do to systemd units,
	// as switch-to-configuration dry-activate says; empty for activation
	// with boot, which changes nothing that runs.
	Units UnitChanges
	// KernelChanged and InitrdChanged report that the new system has
	// another kernel or initrd than the running one: it runs fully only
	// after a reboot.
	KernelChanged, InitrdChanged bool
}

// RebootNeeded reports whether the new system needs a reboot to run
// fully.
func (pv *Preview) RebootNeeded() bool { return pv.KernelChanged || pv.InitrdChanged }

// A ClosureDiff is how two closures differ, package by package, as nix
// store diff-closures finds it: a package is its name without version.
type ClosureDiff struct {
	// Added are packages only the new closure has; Removed only the old.
	Added, Removed []Package
	// Changed are packages whose versions or size changed.
	Changed []PackageChange
	// SizeBefore and SizeAfter are the closures' sizes in bytes; 0 when
	// unknown.
	SizeBefore, SizeAfter int64
}

// A Package is a package added or removed.
type Package struct {
	Name string
	// Versions are its versions ("" for a path without one).
	Versions []string
	// SizeDelta is its size difference in bytes, when nix reports one
	// (at least 8 KiB either way).
	SizeDelta int64
}

// A PackageChange is a package in both closures whose versions or size
// changed.
type PackageChange struct {
	Name     string
	From, To []string
	// SizeDelta is the size difference in bytes, when nix reports one.
	SizeDelta int64
}

// UnitChanges are what switch-to-configuration would do to systemd units.
// Each list is sorted as NixOS prints it.
type UnitChanges struct {
	Stop, Start, Restart, Reload []string
	// Skip are changed units it would not stop ("would NOT stop the
	// following changed units"), such as the unit of the root file system.
	Skip []string
	// StopSwap are swap devices it would turn off.
	StopSwap []string
	// RestartSystemd reports that systemd itself would be re-executed.
	RestartSystemd bool
}

// IsZero reports whether u changes nothing.
func (u UnitChanges) IsZero() bool {
	return len(u.Stop)+len(u.Start)+len(u.Restart)+len(u.Reload)+len(u.Skip)+len(u.StopSwap) == 0 && !u.RestartSystemd
}

// Preview fills in, for every host the plan deploys, what deploying it
// would change, and changes no running system: it builds the new system
// (once: Apply reuses it), copies it to the target, diffs its closure
// against the target's running system there, and asks its
// switch-to-configuration dry-activate which units activation would
// stop, start, restart or reload, and
// whether the kernel or initrd change. Hosts built on their target are
// built there and need no copy; their diff runs there all the same.
// Failures are recorded in HostPlan.Err without changing the action.
func (p *Plan) Preview(ctx context.Context, opts *Options) {
	d := newDriver(opts)
	d.each(len(p.Hosts), func(i int) {
		hp := &p.Hosts[i]
		if hp.Action != ActionDeploy {
			return
		}
		hp.Err = d.preview(ctx, hp)
	})
}

func (d *driver) preview(ctx context.Context, hp *HostPlan) error {
	h := hp.Host
	pv := &Preview{}
	hp.Preview = pv
	if hp.Built == "" {
		path, err := d.buildHost(ctx, h, hp.Drv)
		if err != nil {
			return err
		}
		hp.Built = path
	}
	if h.Build.Where != model.BuildOnTarget {
		if err := d.copyTo(ctx, h, hp.Built); err != nil {
			return err
		}
	}
	if hp.Current == "" {
		hp.Diff = "(the target runs no system yet)\n"
	} else if err := d.diffClosures(ctx, hp); err != nil {
		return err
	}
	return d.dryActivate(ctx, hp)
}

// prepare builds hp's new system and copies it to the target, as a
// deployment must before activating, and finds out on the way what
// activating it will change (Preview), which it reports in an OpPreview
// event (EventDone, with Event.Preview) before anything is activated. Only
// a failed build or copy is an error: a host whose preview fails is
// deployed all the same, with a note saying why its consequences are
// unknown. A host whose new system turns out to be what it runs is
// UpToDate.
func (d *driver) prepare(ctx context.Context, hp *HostPlan, r *Result) error {
	h := hp.Host
	if hp.Built == "" {
		d.emit(h.Name, OpBuild, EventStart, "building "+h.Toplevel.Installable(), nil)
		path, err := d.buildHost(ctx, h, hp.Drv)
		if err != nil {
			return err
		}
		hp.Built = path
		d.emit(h.Name, OpBuild, EventDone, path, nil)
	}
	r.StorePath = hp.Built
	if hp.Built == hp.Current {
		r.Status = UpToDate
		return nil
	}
	pv := &Preview{}
	var unknown error
	if h.Build.Where != model.BuildOnTarget {
		d.emit(h.Name, OpCopy, EventStart, "copying to "+h.Target.Dest(), nil)
		if err := d.copyTo(ctx, h, hp.Built); err != nil {
			return err
		}
		d.emit(h.Name, OpCopy, EventDone, "", nil)
	}
	if hp.Current != "" {
		hp.Preview = pv
		unknown = d.diffClosures(ctx, hp)
	}
	if unknown == nil {
		d.emit(h.Name, OpPreview, EventStart, "asking switch-to-configuration dry-activate", nil)
		hp.Preview = pv
		unknown = d.dryActivate(ctx, hp)
	}
	if unknown != nil {
		hp.Preview = nil
		if ctx.Err() == nil {
			d.emit(h.Name, OpPreview, EventNote, "what activation will change is unknown ("+unknown.Error()+"); deploying all the same", unknown)
		}
		return nil
	}
	r.Preview = pv
	d.ev.emit(Event{Host: h.Name, Wave: d.waves[h.Name], Op: OpPreview, Kind: EventDone, Msg: pv.Summary(), Preview: pv})
	return nil
}

// Summary says in one line what deploying a host changes: its closure's
// packages and size, the units activation stops, starts, restarts or
// reloads, and whether a reboot is needed.
func (pv *Preview) Summary() string {
	var parts []string
	if c := pv.Closure; c == nil {
		parts = append(parts, "no running system to compare with")
	} else {
		delta := FormatSize(c.SizeAfter - c.SizeBefore)
		if !strings.HasPrefix(delta, "-") {
			delta = "+" + delta
		}
		parts = append(parts, fmt.Sprintf("closure: %d added, %d removed, %d changed, %s → %s (%s)",
			len(c.Added), len(c.Removed), len(c.Changed), FormatSize(c.SizeBefore), FormatSize(c.SizeAfter), delta))
	}
	u := pv.Units
	for _, a := range u.Actions() {
		parts = append(parts, "would "+a.Verb+" "+strings.Join(a.Units, ", "))
	}
	if u.RestartSystemd {
		parts = append(parts, "would restart systemd")
	}
	if u.IsZero() {
		parts = append(parts, "would change no unit")
	}
	if why := pv.RebootWhy(); why != "" {
		parts = append(parts, "reboot needed: "+why)
	}
	return strings.Join(parts, "; ")
}

// A UnitAction is one thing activation would do to units, in words
// ("stop", "leave running (changed)"), and the units it would do it to.
type UnitAction struct {
	Verb  string
	Units []string
}

// Actions lists what activation would do to units, one action a verb in
// the order activation does them, leaving out verbs with no unit.
func (u UnitChanges) Actions() []UnitAction {
	var as []UnitAction
	for _, a := range []UnitAction{{"stop", u.Stop}, {"start", u.Start}, {"restart", u.Restart}, {"reload", u.Reload},
		{"leave running (changed)", u.Skip}, {"turn off swap", u.StopSwap}} {
		if len(a.Units) > 0 {
			as = append(as, a)
		}
	}
	return as
}

// RebootWhy says what needs a reboot: "new kernel", "new initrd", "new
// kernel and initrd"; "" when nothing does.
func (pv *Preview) RebootWhy() string {
	switch {
	case pv.KernelChanged && pv.InitrdChanged:
		return "new kernel and initrd"
	case pv.KernelChanged:
		return "new kernel"
	case pv.InitrdChanged:
		return "new initrd"
	}
	return ""
}

// diffScript prints the closure diff from the running system ($1) to
// the new one ($2), a line "fleet: sizes", then both closures' sizes as
// nix path-info --json prints them; the rest of its arguments are extra
// arguments for nix.
const diffScript = `old=$1 new=$2
shift 2
nix --extra-experimental-features nix-command store diff-closures "$@" "$old" "$new" || exit
echo 'fleet: sizes'
exec nix --extra-experimental-features nix-command path-info "$@" --json --closure-size "$old" "$new"
`

// diffClosures diffs the closure of hp's running system against its new
// one on the target, where both are once the new one is copied there: no
// closure travels for the diff, whatever this machine's store holds.
func (d *driver) diffClosures(ctx context.Context, hp *HostPlan) error {
	h := hp.Host
	words := append([]string{"sh", "-c", diffScript, "sh", hp.Current, hp.Built}, d.opts.RemoteNixArgs...)
	out, err := d.run(ctx, command{host: h.Name, op: OpDiff, remote: true, argv: d.ssh(h.Target, shellLine(words...))})
	if err != nil {
		return err
	}
	diff, sizesOut, ok := strings.Cut(string(out), "fleet: sizes\n")
	if !ok {
		return errorf(h.Name, OpDiff, KindProtocol, "the target printed no closure sizes after its closure diff")
	}
	hp.Diff = diff
	cd := parseDiffClosures(hp.Diff)
	out = []byte(sizesOut)
	sizes, err := parseClosureSizes(out)
	if err != nil {
		return errorf(h.Name, OpDiff, KindProtocol, "reading nix path-info output: %v", err)
	}
	cd.SizeBefore, cd.SizeAfter = sizes[hp.Current], sizes[hp.Built]
	hp.Preview.Closure = cd
	return nil
}

// parseClosureSizes reads the closure sizes nix path-info --json
// --closure-size prints, by store path. Nix before 2.19 prints a list of
// objects with a "path"; from 2.19 on, an object whose keys are the paths
// (nix PR 9242). A key without the store directory is taken as a path
// under /nix/store.
func parseClosureSizes(b []byte) (map[string]int64, error) {
	type info struct {
		Path        string `json:"path"`
		ClosureSize int64  `json:"closureSize"`
	}
	sizes := map[string]int64{}
	var list []info
	if err := json.Unmarshal(b, &list); err == nil {
		for _, in := range list {
			sizes[in.Path] = in.ClosureSize
		}
		return sizes, nil
	}
	var byPath map[string]*info
	if err := json.Unmarshal(b, &byPath); err != nil {
		return nil, err
	}
	for p, in := range byPath {
		if in == nil {
			continue // an invalid path
		}
		if !strings.HasPrefix(p, "/") {
			p = "/nix/store/" + p
		}
		sizes[p] = in.ClosureSize
	}
	return sizes, nil
}

// copyTo copies the closure of path to h's target.
func (d *driver) copyTo(ctx context.Context, h *model.Host, path string) error {
	args := []string{"--to", storeURI(h.Target)}
	if h.Target.Substitute {
		args = append(args, "--substitute-on-destination")
	}
	args = append(args, path)
	_, err := d.run(ctx, command{host: h.Name, op: OpCopy, argv: d.nix([]string{"copy"}, args...), env: d.nixSSHEnv(h.Target)})
	return err
}

// previewScript prints the kernels and initrds of the new ($1) and the
// running (under root $2) system and, unless the mode ($3) is boot, what
// switch-to-configuration dry-activate prints, each of its lines prefixed
// with "dry: ". dry-activate is NixOS's own preview of activation: it
// compares the running system's units with the new system's and changes
// nothing.
const previewScript = `new=$1 r=$2 mode=$3
printf 'new-kernel=%s\nnew-initrd=%s\n' "$(readlink -f "$new/kernel")" "$(readlink -f "$new/initrd")"
printf 'kernel=%s\ninitrd=%s\n' "$(readlink -f "$r/run/current-system/kernel")" "$(readlink -f "$r/run/current-system/initrd")"
[ "$mode" = boot ] && exit 0
out=$("$new/bin/switch-to-configuration" dry-activate 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/dry: /'
exit $rc
`

// dryActivate asks hp's target what activating hp.Built would change.
func (d *driver) dryActivate(ctx context.Context, hp *HostPlan) error {
	h := hp.Host
	mode := h.Activation
	if mode == "" {
		mode = model.Switch
	}
	script := shellLine("sh", "-c", previewScript, "sh", hp.Built, h.Target.Root, string(mode))
	out, err := d.run(ctx, command{host: h.Name, op: OpPreview, remote: true,
		argv: d.ssh(h.Target, asRoot(h.Target, script))})
	if err != nil {
		return err
	}
	kv := parseKV(string(out), "")
	pv := hp.Preview
	// A target that runs no system yet has no kernel to change.
	pv.KernelChanged = kv["kernel"] != "" && kv["new-kernel"] != kv["kernel"]
	pv.InitrdChanged = kv["initrd"] != "" && kv["new-initrd"] != kv["initrd"]
	var dry []string
	for _, l := range strings.Split(string(out), "\n") {
		if l, ok := strings.CutPrefix(l, "dry: "); ok {
			dry = append(dry, l)
		}
	}
	pv.Units = parseDryActivate(strings.Join(dry, "\n"))
	return nil
}

// parseDryActivate reads what NixOS's switch-to-configuration dry-activate
// prints to standard error:
//
//	would stop swap device: /dev/sda2
//	would stop the following units: a.service, b.service
//	would NOT stop the following changed units: -.mount
//	would activate the configuration...
//	would restart systemd
//	would reload the following units: dbus.service
//	would restart the following units: sshd.service
//	would start the following units: new.service
//
// Other lines (the activation script's own dry-run output) are ignored.
func parseDryActivate(s string) UnitChanges {
	var u UnitChanges
	lists := []struct {
		prefix string
		dst    *[]string
	}{
		{"would stop the following units: ", &u.Stop},
		{"would NOT stop the following changed units: ", &u.Skip},
		{"would reload the following units: ", &u.Reload},
		{"would restart the following units: ", &u.Restart},
		{"would start the following units: ", &u.Start},
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "would restart systemd" {
			u.RestartSystemd = true
			continue
		}
		if dev, ok := strings.CutPrefix(line, "would stop swap device: "); ok {
			u.StopSwap = append(u.StopSwap, dev)
			continue
		}
		for _, l := range lists {
			if rest, ok := strings.CutPrefix(line, l.prefix); ok {
				for _, unit := range strings.Split(rest, ", ") {
					if unit = strings.TrimSpace(unit); unit != "" {
						*l.dst = append(*l.dst, unit)
					}
				}
			}
		}
	}
	return u
}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// sizeDelta matches the size part of a diff-closures line: "+12.3 KiB".
var sizeDelta = regexp.MustCompile(`^([+-])(\d+(?:\.\d+)?) KiB$`)

// parseDiffClosures reads nix store diff-closures output, one package a
// line: "name: OLD → NEW, +12.3 KiB", where OLD and NEW are
// comma-separated versions, "ε" a path without version and "∅" none, and
// the size part comes only when it is 8 KiB or more.
func parseDiffClosures(s string) *ClosureDiff {
	cd := &ClosureDiff{}
	for _, line := range strings.Split(ansiEscape.ReplaceAllString(s, ""), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok || name == "" {
			continue
		}
		var from, to []string
		var delta int64
		var versions bool
		for _, item := range splitItems(rest) {
			if m := sizeDelta.FindStringSubmatch(item); m != nil {
				f, _ := strconv.ParseFloat(m[2], 64)
				delta = int64(math.Round(f * 1024))
				if m[1] == "-" {
					delta = -delta
				}
				continue
			}
			if a, b, ok := strings.Cut(item, " → "); ok {
				from, to, versions = parseVersions(a), parseVersions(b), true
			}
		}
		switch {
		case versions && from == nil:
			cd.Added = append(cd.Added, Package{Name: name, Versions: to, SizeDelta: delta})
		case versions && to == nil:
			cd.Removed = append(cd.Removed, Package{Name: name, Versions: from, SizeDelta: delta})
		default:
			cd.Changed = append(cd.Changed, PackageChange{Name: name, From: from, To: to, SizeDelta: delta})
		}
	}
	return cd
}

// splitItems splits the part of a diff-closures line after the name into
// its version change and its size change. Versions are separated by ", "
// too, so only a last item that is a size stands on its own.
func splitItems(s string) []string {
	i := strings.LastIndex(s, ", ")
	if i >= 0 && sizeDelta.MatchString(s[i+2:]) {
		return []string{s[:i], s[i+2:]}
	}
	return []string{s}
}

// parseVersions reads one side of a version change: nil for "∅", "" for
// "ε".
func parseVersions(s string) []string {
	s = strings.TrimSpace(s)
	if s == "∅" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ", ") {
		if v == "ε" {
			v = ""
		}
		out = append(out, v)
	}
	return out
}

// FormatVersions writes versions as diff-closures does: "∅" for none, "ε"
// for a path without version.
func FormatVersions(vs []string) string {
	if len(vs) == 0 {
		return "∅"
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v
		if v == "" {
			out[i] = "ε"
		}
	}
	return strings.Join(out, ", ")
}

// FormatSize writes a size in bytes for people: "12.3 KiB", "1.5 GiB".
func FormatSize(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%s%d B", sign, n)
	}
	return fmt.Sprintf("%s%.1f %s", sign, f, units[u])
}
