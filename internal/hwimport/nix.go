package hwimport

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// FromNix reads the NixOS module src, the contents of the file filename,
// as a hardware configuration: a function of { config, lib, pkgs,
// modulesPath, ... } (or a plain attribute set) whose body is an attribute
// set of literal values. Attribute paths may be spelled flat
// (boot.initrd.kernelModules = ...), nested (boot = { initrd.kernelModules
// = ...; }) or fully nested, in any mix; values may be wrapped in
// lib.mkDefault. On errors the Facts are nil and the list says what and
// where; warnings come with usable Facts.
func FromNix(filename string, src []byte) (*Facts, diag.List) {
	f, errs := syntax.Parse(filename, src)
	if errs.HasErrors() {
		return nil, errs
	}
	r := &nixReader{
		f:      f,
		facts:  &Facts{Where: map[string]diag.Range{}},
		fs:     map[string]*fsEntry{},
		mounts: map[string]string{},
		seen:   map[string]map[string]syntax.Node{},

		dupReported: map[string]bool{},
	}
	r.module(f.Expr)
	r.finish()
	r.errs.Sort()
	if r.errs.HasErrors() {
		return nil, r.errs
	}
	return r.facts, r.errs
}

type nixReader struct {
	f     *syntax.File
	facts *Facts
	errs  diag.List
	// withLib is set inside `with lib;`, where mkDefault may be bare.
	withLib bool
	// microcode is the updateMicrocode binding whose value is
	// config.hardware.enableRedistributableFirmware, if any.
	microcodeFollows bool
	fs               map[string]*fsEntry
	fsOrder          []string
	// mounts maps a cleaned mount point to the spelling first seen.
	mounts      map[string]string
	dupReported map[string]bool
	// seen holds, per list fact, the node of each element seen.
	seen map[string]map[string]syntax.Node
}

// An fsEntry collects the fields of one fileSystems entry, which may be
// set one binding at a time.
type fsEntry struct {
	at     syntax.Node
	fs     FileSystem
	hasDev bool
	hasFS  bool
	// failed is set when a field could not be read (and was reported).
	failed bool
}

func (r *nixReader) rng(n syntax.Node) diag.Range { return r.f.Range(n) }

func (r *nixReader) errorf(n syntax.Node, detail, format string, args ...any) {
	r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.rng(n), Summary: fmt.Sprintf(format, args...), Detail: detail})
}

func (r *nixReader) warnf(n syntax.Node, detail, format string, args ...any) {
	r.errs.Add(diag.Diagnostic{Severity: diag.Warning, Range: r.rng(n), Summary: fmt.Sprintf(format, args...), Detail: detail})
}

// text returns the source of n on one line, shortened for a message.
func (r *nixReader) text(n syntax.Node) string {
	s := strings.Join(strings.Fields(string(r.f.Src[n.Pos().Offset():n.End().Offset()])), " ")
	if len(s) > 48 {
		s = s[:45] + "..."
	}
	return s
}

const literalDetail = "fleet reads a hardware configuration as data: write the value out literally, or set it in CUE instead"

func (r *nixReader) module(e syntax.Expr) {
	e = syntax.Unparen(e)
	if lam, ok := e.(*syntax.Lambda); ok {
		e = syntax.Unparen(lam.Body)
	}
	if w, ok := e.(*syntax.With); ok {
		if id, ok := syntax.Unparen(w.X).(*syntax.Ident); ok && id.Tok.Text == "lib" {
			r.withLib = true
			e = syntax.Unparen(w.Body)
		}
	}
	set, ok := e.(*syntax.AttrSet)
	if !ok {
		r.errorf(e, "a hardware configuration is a NixOS module: { config, lib, modulesPath, ... }: { ... }",
			"expected an attribute set of settings, found %s", r.text(e))
		return
	}
	r.bindings(set.Bindings, nil)
}

// attrNames returns the static names of an attribute path.
func (r *nixReader) attrNames(ap *syntax.AttrPath) ([]string, bool) {
	var names []string
	for _, n := range ap.Names {
		switch n := n.(type) {
		case *syntax.Ident:
			names = append(names, n.Tok.Text)
		case *syntax.String:
			s, err := syntax.StringValue(n)
			if err != nil {
				r.errorf(n, literalDetail, "cannot import an attribute with a computed name %s", r.text(n))
				return nil, false
			}
			names = append(names, s)
		case *syntax.Interpolation:
			if s, ok := syntax.Unparen(n.X).(*syntax.String); ok {
				if v, err := syntax.StringValue(s); err == nil {
					names = append(names, v)
					continue
				}
			}
			r.errorf(n, literalDetail, "cannot import an attribute with a computed name %s", r.text(n))
			return nil, false
		default:
			return nil, false
		}
	}
	return names, true
}

func (r *nixReader) bindings(bs []syntax.Binding, prefix []string) {
	for _, b := range bs {
		switch b := b.(type) {
		case *syntax.Attr:
			names, ok := r.attrNames(b.Path)
			if !ok {
				continue
			}
			p := append(slices.Clone(prefix), names...)
			if set, ok := syntax.Unparen(b.Value).(*syntax.AttrSet); ok {
				r.bindings(set.Bindings, p)
				continue
			}
			r.leaf(p, b)
		case *syntax.Inherit:
			r.errorf(b, literalDetail, "cannot import %s: inherit takes values from elsewhere", r.text(b))
		}
	}
}

func is(p []string, want ...string) bool { return slices.Equal(p, want) }

func (r *nixReader) leaf(p []string, a *syntax.Attr) {
	f := r.facts
	switch {
	case is(p, "imports"):
		r.imports(a.Value)
	case is(p, "boot", "initrd", "availableKernelModules"):
		f.InitrdAvailableKernelModules = r.strings(p, a, f.InitrdAvailableKernelModules)
	case is(p, "boot", "initrd", "kernelModules"):
		f.InitrdKernelModules = r.strings(p, a, f.InitrdKernelModules)
	case is(p, "boot", "kernelModules"):
		f.KernelModules = r.strings(p, a, f.KernelModules)
	case is(p, "boot", "kernelParams"):
		f.KernelParams = r.strings(p, a, f.KernelParams)
	case is(p, "swapDevices"):
		r.swapDevices(a)
	case len(p) >= 2 && p[0] == "fileSystems":
		r.fileSystem(p, a)
	case is(p, "networking", "useDHCP"):
		if v, ok := r.boolean(p, a); ok {
			f.DHCP = &v
			f.Where["networking.useDHCP"] = r.rng(a)
		}
	case is(p, "hardware", "enableRedistributableFirmware"):
		if v, ok := r.boolean(p, a); ok {
			f.RedistributableFirmware = &v
			f.Where["redistributableFirmware"] = r.rng(a)
		}
	case is(p, "nixpkgs", "hostPlatform"):
		if s, ok := r.oneOf(p, a, Systems, "fleet's hosts run on", "platform"); ok {
			f.System = s
			f.Where["system"] = r.rng(a)
		}
	case len(p) == 4 && p[0] == "hardware" && p[1] == "cpu" && (p[2] == "amd" || p[2] == "intel") && p[3] == "updateMicrocode":
		r.microcode(p, a)
	case is(p, "boot", "loader", "systemd-boot", "enable"):
		r.bootFlag(p, a, &f.Boot.SystemdBoot)
	case is(p, "boot", "loader", "grub", "enable"):
		r.bootFlag(p, a, &f.Boot.GRUB)
	case is(p, "boot", "loader", "grub", "efiSupport"):
		r.bootFlag(p, a, &f.Boot.GRUBEFI)
	case is(p, "boot", "loader", "grub", "efiInstallAsRemovable"):
		r.bootFlag(p, a, &f.Boot.GRUBRemovable)
	case is(p, "boot", "loader", "efi", "canTouchEfiVariables"):
		r.bootFlag(p, a, &f.Boot.CanTouchEFIVariables)
	case is(p, "boot", "loader", "grub", "device"), is(p, "boot", "loader", "grub", "devices"):
		r.grubDevices(p, a)
	case is(p, "boot", "loader", "efi", "efiSysMountPoint"):
		if s, ok := r.oneOf(p, a, espMounts, "fleet mounts the EFI system partition at", "EFI system partition mount point"); ok {
			f.Boot.ESP = s
			f.Where[strings.Join(p, ".")] = r.rng(a)
		}
	default:
		r.extra(p, a)
	}
}

// oneOf reads a string that must be one of allowed; what names it in the
// error, and detail (completed with the allowed values) says what fleet
// accepts.
func (r *nixReader) oneOf(p []string, a *syntax.Attr, allowed []string, detail, what string) (string, bool) {
	v, _, bad := r.value(a.Value)
	s, isStr := v.(string)
	switch {
	case bad != nil:
		r.notLiteral(p, bad)
	case !isStr || !slices.Contains(allowed, s):
		r.errorf(a.Value, detail+" "+strings.Join(allowed, " or "), "unsupported %s %s", what, r.text(a.Value))
	default:
		return s, true
	}
	return "", false
}

// bootFlag reads a boolean boot.loader setting into dst.
func (r *nixReader) bootFlag(p []string, a *syntax.Attr, dst **bool) {
	if v, ok := r.boolean(p, a); ok {
		*dst = &v
		r.facts.Where[strings.Join(p, ".")] = r.rng(a)
	}
}

// grubDevices reads boot.loader.grub.device (a string) or devices (a
// list): absolute device paths, or "nodev".
func (r *nixReader) grubDevices(p []string, a *syntax.Attr) {
	f := r.facts
	var devs []string
	if p[len(p)-1] == "device" {
		v, _, bad := r.value(a.Value)
		s, ok := v.(string)
		switch {
		case bad != nil:
			r.notLiteral(p, bad)
			return
		case !ok:
			r.errorf(a.Value, "", "%s must be a string, found %s", strings.Join(p, "."), r.text(a.Value))
			return
		}
		devs = []string{s}
	} else {
		devs = r.strings(p, a, nil)
	}
	for _, d := range devs {
		if d != "" && d != "nodev" && !strings.HasPrefix(d, "/dev/") {
			r.errorf(a.Value, `GRUB is installed to disks under /dev, or to "nodev"`, "unsupported GRUB device %q", d)
			return
		}
	}
	if p[len(p)-1] == "device" {
		f.Boot.GRUBDevice = devs[0]
	} else {
		f.Boot.GRUBDevices = union(f.Boot.GRUBDevices, devs)
	}
	f.Where[strings.Join(p, ".")] = r.rng(a)
}

func (r *nixReader) notLiteral(p []string, bad syntax.Node) {
	r.errorf(bad, literalDetail, "cannot import %s: %s is not a literal value", strings.Join(p, "."), r.text(bad))
}

// mkDefault returns the argument of lib.mkDefault x (or mkDefault x inside
// with lib;).
func (r *nixReader) mkDefault(e syntax.Expr) (syntax.Expr, bool) {
	app, ok := e.(*syntax.Apply)
	if !ok {
		return nil, false
	}
	switch fn := syntax.Unparen(app.Fn).(type) {
	case *syntax.Select:
		id, ok := fn.X.(*syntax.Ident)
		if ok && id.Tok.Text == "lib" && fn.Or == nil && len(fn.Path.Names) == 1 {
			if n, ok := fn.Path.Names[0].(*syntax.Ident); ok && n.Tok.Text == "mkDefault" {
				return app.Arg, true
			}
		}
	case *syntax.Ident:
		if r.withLib && fn.Tok.Text == "mkDefault" {
			return app.Arg, true
		}
	}
	return nil, false
}

// unwrap removes parentheses and one lib.mkDefault.
func (r *nixReader) unwrap(e syntax.Expr) (syntax.Expr, bool) {
	e = syntax.Unparen(e)
	if x, ok := r.mkDefault(e); ok {
		return syntax.Unparen(x), true
	}
	return e, false
}

// value evaluates e, a literal possibly wrapped in lib.mkDefault. bad is
// the first part of e that is not a literal.
func (r *nixReader) value(e syntax.Expr) (v any, isDefault bool, bad syntax.Node) {
	e, isDefault = r.unwrap(e)
	v, bad = r.literal(e)
	return v, isDefault, bad
}

// literal evaluates a literal Nix value: strings without interpolation,
// numbers, booleans, null, lists and attribute sets of literals.
func (r *nixReader) literal(e syntax.Expr) (any, syntax.Node) {
	switch e := e.(type) {
	case *syntax.Paren:
		return r.literal(e.X)
	case *syntax.Ident:
		switch e.Tok.Text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
	case *syntax.Int:
		if n, err := strconv.ParseInt(e.Tok.Text, 10, 64); err == nil {
			return n, nil
		}
	case *syntax.Float:
		if x, err := strconv.ParseFloat(e.Tok.Text, 64); err == nil {
			return x, nil
		}
	case *syntax.Unary:
		if e.Op.Kind == syntax.MINUS {
			v, bad := r.literal(e.X)
			switch v := v.(type) {
			case int64:
				return -v, nil
			case float64:
				return -v, nil
			}
			if bad != nil {
				return nil, bad
			}
		}
	case *syntax.String:
		if s, err := syntax.StringValue(e); err == nil {
			return s, nil
		}
	case *syntax.URI:
		return e.Tok.Text, nil
	case *syntax.List:
		out := []any{}
		for _, el := range e.Elems {
			v, bad := r.literal(el)
			if bad != nil {
				return nil, bad
			}
			out = append(out, v)
		}
		return out, nil
	case *syntax.AttrSet:
		out := map[string]any{}
		for _, b := range e.Bindings {
			a, ok := b.(*syntax.Attr)
			if !ok {
				return nil, b
			}
			names, ok := r.attrNames(a.Path)
			if !ok {
				return nil, a.Path
			}
			v, bad := r.literal(a.Value)
			if bad != nil {
				return nil, bad
			}
			m := out
			for _, k := range names[:len(names)-1] {
				sub, ok := m[k].(map[string]any)
				if !ok {
					sub = map[string]any{}
					m[k] = sub
				}
				m = sub
			}
			last := names[len(names)-1]
			if old, ok := m[last].(map[string]any); ok {
				if nv, ok := v.(map[string]any); ok {
					for k, x := range nv {
						old[k] = x
					}
					continue
				}
			}
			m[last] = v
		}
		return out, nil
	}
	return nil, e
}

// strings reads a list of strings (a set: duplicates are reported) and
// adds them to dst.
func (r *nixReader) strings(p []string, a *syntax.Attr, dst []string) []string {
	key := strings.Join(p, ".")
	e, _ := r.unwrap(a.Value)
	list, ok := e.(*syntax.List)
	if !ok {
		if _, bad := r.literal(e); bad != nil {
			r.notLiteral(p, bad)
		} else {
			r.errorf(e, "", "%s must be a list of strings, found %s", key, r.text(e))
		}
		return dst
	}
	seen := r.seen[key]
	if seen == nil {
		seen = map[string]syntax.Node{}
		r.seen[key] = seen
	}
	for _, el := range list.Elems {
		v, bad := r.literal(el)
		if bad != nil {
			r.notLiteral(p, bad)
			continue
		}
		s, ok := v.(string)
		if !ok {
			r.errorf(el, "", "%s must be a list of strings, found %s", key, r.text(el))
			continue
		}
		if prev, dup := seen[s]; dup {
			d := diag.Diagnostic{Severity: diag.Warning, Range: r.rng(el),
				Summary: fmt.Sprintf("%q is listed twice in %s", s, key),
				Detail:  "fleet keeps it once: these lists are sets",
				Related: []diag.Related{{Range: r.rng(prev), Message: "first listed here"}}}
			r.errs.Add(d)
			continue
		}
		seen[s] = el
		dst = append(dst, s)
	}
	r.facts.Where[factKey(p)] = r.rng(a)
	return dst
}

// factKey names a list fact in Facts.Where.
func factKey(p []string) string {
	switch strings.Join(p, ".") {
	case "boot.initrd.availableKernelModules":
		return "initrd.availableKernelModules"
	case "boot.initrd.kernelModules":
		return "initrd.kernelModules"
	case "boot.kernelModules":
		return "kernelModules"
	case "boot.kernelParams":
		return "kernelParams"
	}
	return strings.Join(p, ".")
}

func (r *nixReader) boolean(p []string, a *syntax.Attr) (bool, bool) {
	v, _, bad := r.value(a.Value)
	if bad != nil {
		r.notLiteral(p, bad)
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		r.errorf(a.Value, "", "%s must be true or false, found %s", strings.Join(p, "."), r.text(a.Value))
	}
	return b, ok
}

// microcode reads hardware.cpu.<vendor>.updateMicrocode, which names the
// CPU vendor. Its value is a boolean or, as nixos-generate-config writes
// it, config.hardware.enableRedistributableFirmware.
func (r *nixReader) microcode(p []string, a *syntax.Attr) {
	f := r.facts
	vendor := p[2]
	if f.CPU.Vendor != "" && f.CPU.Vendor != vendor {
		r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.rng(a),
			Summary: "the CPU is both amd and intel: microcode updates are set for both vendors",
			Detail:  "keep the line of the machine's CPU vendor",
			Related: []diag.Related{{Range: f.Where["cpu.vendor"], Message: "the other vendor"}}})
		return
	}
	e, _ := r.unwrap(a.Value)
	if sel, ok := e.(*syntax.Select); ok && sel.Or == nil {
		if id, ok := sel.X.(*syntax.Ident); ok && id.Tok.Text == "config" {
			if names, ok := r.attrNames(sel.Path); ok && is(names, "hardware", "enableRedistributableFirmware") {
				f.CPU.Vendor = vendor
				f.Where["cpu.vendor"] = r.rng(a)
				f.Where["cpu.microcode"] = r.rng(a)
				r.microcodeFollows = true
				return
			}
		}
	}
	if v, ok := r.boolean(p, a); ok {
		f.CPU.Vendor = vendor
		f.CPU.Microcode = &v
		f.Where["cpu.vendor"] = r.rng(a)
		f.Where["cpu.microcode"] = r.rng(a)
	}
}

// notDetected reports whether an import is the installer's
// not-detected.nix, which only enables redistributable firmware by
// default, as fleet does.
func notDetected(e syntax.Expr) bool {
	const tail = "/installer/scan/not-detected.nix"
	isModulesPath := func(e syntax.Expr) bool {
		id, ok := syntax.Unparen(e).(*syntax.Ident)
		return ok && id.Tok.Text == "modulesPath"
	}
	switch e := syntax.Unparen(e).(type) {
	case *syntax.Binary:
		s, ok := syntax.Unparen(e.Y).(*syntax.String)
		if !ok || e.Op.Kind != syntax.PLUS || !isModulesPath(e.X) {
			return false
		}
		v, err := syntax.StringValue(s)
		return err == nil && v == tail
	case *syntax.String:
		if len(e.Parts) != 2 {
			return false
		}
		in, ok := e.Parts[0].(*syntax.Interpolation)
		txt, ok2 := e.Parts[1].(*syntax.Text)
		return ok && ok2 && isModulesPath(in.X) && txt.Tok.Text == tail
	case *syntax.SearchPath:
		return e.Tok.Text == "<nixpkgs/nixos/modules"+tail+">"
	}
	return false
}

func (r *nixReader) imports(v syntax.Expr) {
	list, ok := syntax.Unparen(v).(*syntax.List)
	if !ok {
		r.errorf(v, "", "imports must be a list, found %s", r.text(v))
		return
	}
	for _, el := range list.Elems {
		if notDetected(el) {
			continue
		}
		r.warnf(el, "fleet cannot follow imports of a hardware configuration; give what the module sets in the host or its hardware profile",
			"not imported: the module %s", r.text(el))
	}
}

func (r *nixReader) swapDevices(a *syntax.Attr) {
	e, _ := r.unwrap(a.Value)
	list, ok := e.(*syntax.List)
	if !ok {
		if _, bad := r.literal(e); bad != nil {
			r.notLiteral([]string{"swapDevices"}, bad)
		} else {
			r.errorf(e, "", "swapDevices must be a list of { device = ...; } sets, found %s", r.text(e))
		}
		return
	}
	f := r.facts
	for _, el := range list.Elems {
		v, bad := r.literal(el)
		if bad != nil {
			r.notLiteral([]string{"swapDevices"}, bad)
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			r.errorf(el, "", "swapDevices must be a list of { device = ...; } sets, found %s", r.text(el))
			continue
		}
		var s Swap
		dev, _ := m["device"].(string)
		good := true
		for _, k := range sortedKeys(m) {
			switch x := m[k]; k {
			case "device":
				if !strings.HasPrefix(dev, "/") {
					r.errorf(el, "", "swap device must be an absolute path, found %s", r.text(el))
					good = false
				}
			case "size", "priority":
				n, ok := x.(int64)
				if !ok || n < 0 {
					r.errorf(el, "", "swap %s must be a non-negative integer", k)
					good = false
				} else if k == "size" {
					s.Size = n
				} else {
					s.Priority, s.HasPriority = n, true
				}
			default:
				r.errorf(el, "fleet's swap entries have device, size and priority", "cannot import swap attribute %s", k)
				good = false
			}
		}
		if _, ok := m["device"]; !ok {
			r.errorf(el, "", "swap entry has no device")
			good = false
		}
		if !good {
			continue
		}
		key := "swap." + dev
		if _, dup := f.Swap[dev]; dup {
			r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.rng(el),
				Summary: "duplicate swap device " + dev,
				Related: []diag.Related{{Range: f.Where[key], Message: "first given here"}}})
			continue
		}
		if f.Swap == nil {
			f.Swap = map[string]Swap{}
		}
		f.Swap[dev] = s
		f.Where[key] = r.rng(el)
	}
}

// fileSystem reads fileSystems.<mount> = { ... } or one of its fields.
func (r *nixReader) fileSystem(p []string, a *syntax.Attr) {
	mount := p[1]
	if !strings.HasPrefix(mount, "/") {
		r.errorf(a.Path, "", "mount point %q is not an absolute path", mount)
		return
	}
	clean := path.Clean(mount)
	if first, ok := r.mounts[clean]; ok && first != mount {
		if r.dupReported[mount] {
			return
		}
		r.dupReported[mount] = true
		r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.rng(a.Path),
			Summary: fmt.Sprintf("duplicate mount point %s: %q and %q are the same directory", clean, first, mount),
			Related: []diag.Related{{Range: r.rng(r.fs[first].at), Message: "first mounted here"}}})
		return
	}
	r.mounts[clean] = mount
	ent := r.fs[mount]
	if ent == nil {
		ent = &fsEntry{at: a}
		r.fs[mount] = ent
		r.fsOrder = append(r.fsOrder, mount)
	}
	if len(p) == 2 {
		// fileSystems."/" = lib.mkDefault { ... } or a set value that was
		// not spelled as an attribute set (parenthesized sets recurse).
		e, _ := r.unwrap(a.Value)
		set, ok := e.(*syntax.AttrSet)
		if !ok {
			if _, bad := r.literal(e); bad != nil {
				r.notLiteral(p, bad)
			} else {
				r.errorf(e, "", "fileSystems.%q must be an attribute set", mount)
			}
			return
		}
		for _, b := range set.Bindings {
			fa, ok := b.(*syntax.Attr)
			if !ok {
				r.errorf(b, literalDetail, "cannot import %s", r.text(b))
				continue
			}
			names, ok := r.attrNames(fa.Path)
			if !ok {
				continue
			}
			r.fileSystem(append([]string{"fileSystems", mount}, names...), fa)
		}
		return
	}
	field := p[2]
	if len(p) > 3 || (field != "device" && field != "fsType" && field != "options") {
		r.extra(p, a)
		return
	}
	fail := func() { ent.failed = true }
	if field == "options" {
		ent.fs.Options = r.strings(p, a, ent.fs.Options)
		delete(r.facts.Where, factKey(p))
		return
	}
	v, _, bad := r.value(a.Value)
	if bad != nil {
		r.notLiteral(p, bad)
		fail()
		return
	}
	s, ok := v.(string)
	if !ok {
		r.errorf(a.Value, "", "fileSystems.%q.%s must be a string, found %s", mount, field, r.text(a.Value))
		fail()
		return
	}
	if field == "device" {
		ent.fs.Device, ent.hasDev = s, true
		return
	}
	if !slices.Contains(FileSystemTypes, s) {
		r.errorf(a.Value, "fleet's filesystem types are "+strings.Join(FileSystemTypes, ", "), "unsupported filesystem type %q", s)
		ent.hasFS = true // reported
		ent.fs.FSType = ""
		return
	}
	ent.fs.FSType, ent.hasFS = s, true
}

func (r *nixReader) extra(p []string, a *syntax.Attr) {
	v, def, bad := r.value(a.Value)
	if bad != nil {
		r.notLiteral(p, bad)
		return
	}
	if l, ok := v.([]any); ok && len(l) == 0 && (is(p, "boot", "extraModulePackages") || is(p, "swapDevices")) {
		return // NixOS's default: states nothing
	}
	r.facts.Extra = append(r.facts.Extra, Setting{Path: p, Value: v, Default: def, Range: r.rng(a)})
	r.warnf(a.Path, "it is carried over as free-form NixOS configuration (the host's nixos field)",
		"not a hardware fact: %s", strings.Join(p, "."))
}

func (r *nixReader) finish() {
	f := r.facts
	if r.microcodeFollows {
		v := true // fleet's default for redistributable firmware
		if f.RedistributableFirmware != nil {
			v = *f.RedistributableFirmware
		}
		f.CPU.Microcode = &v
	}
	for _, m := range r.fsOrder {
		ent := r.fs[m]
		if ent.failed || !ent.hasDev && !ent.hasFS && ent.fs.Options == nil {
			continue // reported, or only extra fields
		}
		if !ent.hasDev {
			r.errorf(ent.at, "", "fileSystems.%q has no device", m)
			continue
		}
		if !ent.hasFS {
			r.errorf(ent.at, "", "fileSystems.%q has no fsType", m)
			continue
		}
		if ent.fs.FSType == "" {
			continue
		}
		if f.FileSystems == nil {
			f.FileSystems = map[string]FileSystem{}
		}
		ent.fs.Options = union(nil, ent.fs.Options)
		clean := path.Clean(m)
		f.FileSystems[clean] = ent.fs
		f.Where["fileSystems."+clean] = r.rng(ent.at)
	}
	for _, l := range []*[]string{&f.InitrdAvailableKernelModules, &f.InitrdKernelModules, &f.KernelModules, &f.KernelParams} {
		*l = union(nil, *l)
	}
	sortSettings(f.Extra)
}
