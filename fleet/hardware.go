package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/hwimport"
	"fleetnix.dev/fleet/internal/lint/rules"
)

// A HardwareSource is one input of ImportHardware: a file's name (for
// positions) and contents.
type HardwareSource struct {
	// File is the file's name as diagnostics show it.
	File string
	// Src is the file's contents.
	Src []byte
}

// HardwareInput says what ImportHardware reads. At least one of Nix and
// Facter must be set; with both, their facts are joined and must agree.
type HardwareInput struct {
	// Host, when set, is the host the facts belong to: the output is then
	// a CUE file of its own, `package <Package>` and `hosts: <Host>: {
	// ... }`, ready to sit beside the fleet's hosts.cue, and the import
	// can be merged into an existing file (MergeInto). Without it the
	// output holds the host's fields at the top level, to paste into a
	// host.
	Host string
	// Package is the package clause of the file written for Host: the
	// fleet's CUE package, "fleet" when empty (as fleetgen init writes).
	Package string
	// Nix is a hardware-configuration.nix as nixos-generate-config writes
	// it, possibly edited.
	Nix *HardwareSource
	// Facter is a nixos-facter report (JSON).
	Facter *HardwareSource
}

// A HardwareImport is the result of ImportHardware.
type HardwareImport struct {
	// CUE is the host's hardware facts as formatted CUE source: system,
	// network.dhcp, hardware, and under nixos the literal settings of the
	// input that are not hardware facts; with HardwareInput.Host, a whole
	// file. The same facts always give the same bytes, however the input
	// spelled them.
	CUE []byte
	// Warnings name, with their position, the parts of the input that are
	// not hardware facts: settings carried over under nixos and imports
	// fleet cannot follow. Their Severity is Warning.
	Warnings []Diagnostic

	host   string
	pkg    string
	fields func() []*ast.Field // the host's imported fields, built anew each call
}

// ImportHardware reads the hardware facts of a machine and returns them as
// the CUE value of its host. When an input cannot be read faithfully (a
// syntax error, a value that is not a literal such as lib.mkIf, an
// unsupported filesystem type, a duplicate mount point, a malformed
// report, two sources that disagree) it returns Errors with every problem
// and no output.
func ImportHardware(in HardwareInput) (*HardwareImport, error) {
	if in.Nix == nil && in.Facter == nil {
		return nil, errors.New("fleet.ImportHardware: no input")
	}
	var all diag.List
	var facts *hwimport.Facts
	if in.Nix != nil {
		f, errs := hwimport.FromNix(in.Nix.File, in.Nix.Src)
		all = append(all, errs...)
		facts = f
	}
	if in.Facter != nil {
		f, errs := hwimport.FromFacter(in.Facter.File, in.Facter.Src)
		all = append(all, errs...)
		switch {
		case facts == nil:
			facts = f
		case f != nil:
			all = append(all, hwimport.Merge(facts, f)...)
		}
	}
	all.Sort()
	if all.HasErrors() || facts == nil {
		return nil, fromDiag(all)
	}
	if errs := checkImport(facts, in.firstFile()); len(errs) > 0 {
		return nil, fromDiag(errs)
	}
	if in.Host != "" && !hostNameRx.MatchString(in.Host) {
		return nil, fmt.Errorf("host name %q: lower-case letters, digits and '-', at most 63, not starting or ending with '-'", in.Host)
	}
	pkg := in.Package
	if pkg == "" {
		pkg = "fleet"
	}
	if !ast.IsValidIdent(pkg) || strings.HasPrefix(pkg, "#") || strings.HasPrefix(pkg, "_") {
		return nil, fmt.Errorf("package %q is not a CUE package name", pkg)
	}
	r := &HardwareImport{Warnings: fromDiag(all), host: in.Host, pkg: pkg,
		fields: func() []*ast.Field { return hostFields(facts) }}
	file := &ast.File{}
	if in.Host == "" {
		for _, f := range r.fields() {
			file.Decls = append(file.Decls, f)
		}
		ast.AddComment(file.Decls[0], importedComment())
	} else {
		d := hostDecl(in.Host, r.fields())
		ast.AddComment(d, importedComment())
		file.Decls = []ast.Decl{&ast.Package{Name: ast.NewIdent(pkg)}, d}
	}
	src, err := format.Node(file)
	if err != nil {
		return nil, err
	}
	r.CUE = src
	return r, nil
}

// importedComment says where a value came from.
func importedComment() *ast.CommentGroup {
	return &ast.CommentGroup{Doc: true, List: []*ast.Comment{{Text: "// Hardware facts imported by fleetgen import hardware."}}}
}

// hostDecl returns hosts: <host>: { fields }.
func hostDecl(host string, fields []*ast.Field) *ast.Field {
	var fs []any
	for _, f := range fields {
		fs = append(fs, f)
	}
	return &ast.Field{Label: ast.NewIdent("hosts"), Value: ast.NewStruct(field(host, ast.NewStruct(fs...)))}
}

// hostFields builds the host's fields of the facts: system, network.dhcp,
// hardware and nixos, those the facts have.
func hostFields(f *hwimport.Facts) []*ast.Field {
	var fields []*ast.Field
	if f.System != "" {
		fields = append(fields, field("system", ast.NewString(f.System)))
	}
	if f.DHCP != nil {
		fields = append(fields, field("network", ast.NewStruct(field("dhcp", ast.NewBool(*f.DHCP)))))
	}
	fields = append(fields, field("hardware", hardwareStruct(f)))
	if len(f.Extra) > 0 {
		tree := map[string]any{}
		for _, s := range f.Extra {
			m := tree
			for _, k := range s.Path[:len(s.Path)-1] {
				sub, ok := m[k].(map[string]any)
				if !ok {
					sub = map[string]any{}
					m[k] = sub
				}
				m = sub
			}
			var v any = s.Value
			if s.Default {
				v = mkDefault{s.Value}
			}
			m[s.Path[len(s.Path)-1]] = v
		}
		fields = append(fields, field("nixos", cueValue(tree)))
	}
	return fields
}

func field(name string, v ast.Expr) *ast.Field {
	return &ast.Field{Label: ast.NewStringLabel(name), Value: v}
}

// set returns the keyed set {a: true, b: true} of names.
func set(names []string) *ast.StructLit {
	var fs []any
	for _, n := range names {
		fs = append(fs, field(n, ast.NewBool(true)))
	}
	return ast.NewStruct(fs...)
}

func hardwareStruct(f *hwimport.Facts) *ast.StructLit {
	var hw []any
	var cpu []any
	if f.CPU.Vendor != "" {
		cpu = append(cpu, field("vendor", ast.NewString(f.CPU.Vendor)))
	}
	if f.CPU.Model != "" {
		cpu = append(cpu, field("model", ast.NewString(f.CPU.Model)))
	}
	if f.CPU.Microcode != nil {
		cpu = append(cpu, field("microcode", ast.NewBool(*f.CPU.Microcode)))
	}
	if len(cpu) > 0 {
		hw = append(hw, field("cpu", ast.NewStruct(cpu...)))
	}
	var gpu []any
	for _, g := range []struct {
		name string
		dev  *hwimport.GPUDevice
	}{{"amd", f.GPU.AMD}, {"nvidia", f.GPU.Nvidia}, {"intel", f.GPU.Intel}} {
		if g.dev == nil {
			continue
		}
		e := []any{field("enable", ast.NewBool(true))}
		if g.dev.Model != "" {
			e = append(e, field("model", ast.NewString(g.dev.Model)))
		}
		gpu = append(gpu, field(g.name, ast.NewStruct(e...)))
	}
	if len(gpu) > 0 {
		hw = append(hw, field("gpu", ast.NewStruct(gpu...)))
	}
	if f.RedistributableFirmware != nil {
		hw = append(hw, field("redistributableFirmware", ast.NewBool(*f.RedistributableFirmware)))
	}
	var initrd []any
	if len(f.InitrdAvailableKernelModules) > 0 {
		initrd = append(initrd, field("availableKernelModules", set(f.InitrdAvailableKernelModules)))
	}
	if len(f.InitrdKernelModules) > 0 {
		initrd = append(initrd, field("kernelModules", set(f.InitrdKernelModules)))
	}
	if len(initrd) > 0 {
		hw = append(hw, field("initrd", ast.NewStruct(initrd...)))
	}
	if len(f.KernelModules) > 0 {
		hw = append(hw, field("kernelModules", set(f.KernelModules)))
	}
	if len(f.KernelParams) > 0 {
		hw = append(hw, field("kernelParams", set(f.KernelParams)))
	}
	if len(f.FileSystems) > 0 {
		var fss []any
		for _, m := range sortedKeys(f.FileSystems) {
			fs := f.FileSystems[m]
			e := []any{field("device", ast.NewString(fs.Device)), field("fsType", ast.NewString(fs.FSType))}
			if len(fs.Options) > 0 {
				e = append(e, field("options", set(fs.Options)))
			}
			fss = append(fss, field(m, ast.NewStruct(e...)))
		}
		hw = append(hw, field("fileSystems", ast.NewStruct(fss...)))
	}
	if b := bootStruct(f.BootLoader()); b != nil {
		hw = append(hw, b)
	}
	if len(f.Swap) > 0 {
		var sw []any
		for _, d := range sortedKeys(f.Swap) {
			s := f.Swap[d]
			var e []any
			if s.Size != 0 {
				e = append(e, field("size", ast.NewLit(token.INT, strconv.FormatInt(s.Size, 10))))
			}
			if s.HasPriority {
				e = append(e, field("priority", ast.NewLit(token.INT, strconv.FormatInt(s.Priority, 10))))
			}
			sw = append(sw, field(d, ast.NewStruct(e...)))
		}
		hw = append(hw, field("swap", ast.NewStruct(sw...)))
	}
	return ast.NewStruct(hw...)
}

// bootStruct returns the field boot: {...} of a boot loader, with what
// was inferred said in a comment above it, or nil when nothing shows how
// the machine boots.
func bootStruct(l hwimport.BootLoader) *ast.Field {
	if l.Loader == "" {
		return nil
	}
	b := []any{field("loader", ast.NewString(l.Loader))}
	var efi []any
	if l.ESP != "" {
		efi = append(efi, field("mountPoint", ast.NewString(l.ESP)))
	}
	if l.CanTouchEFIVariables != nil {
		efi = append(efi, field("canTouchVariables", ast.NewBool(*l.CanTouchEFIVariables)))
	}
	if len(efi) > 0 && l.Loader != "none" {
		b = append(b, field("efi", ast.NewStruct(efi...)))
	}
	var grub []any
	if len(l.GRUBDevices) > 0 {
		grub = append(grub, field("devices", set(l.GRUBDevices)))
	}
	if l.GRUBEFI {
		grub = append(grub, field("efi", ast.NewBool(true)))
	}
	if l.GRUBRemovable {
		grub = append(grub, field("removable", ast.NewBool(true)))
	}
	if len(grub) > 0 && l.Loader == "grub" {
		b = append(b, field("grub", ast.NewStruct(grub...)))
	}
	f := field("boot", ast.NewStruct(b...))
	if len(l.Why) > 0 {
		var cs []*ast.Comment
		for _, line := range l.Why {
			cs = append(cs, &ast.Comment{Text: "// " + line})
		}
		ast.AddComment(f, &ast.CommentGroup{Doc: true, List: cs})
	}
	return f
}

// mkDefault marks a value the input wrapped in lib.mkDefault; it becomes
// fleet's #Default.
type mkDefault struct{ v any }

// cueValue converts decoded Nix data to a CUE expression.
func cueValue(v any) ast.Expr {
	switch v := v.(type) {
	case nil:
		return ast.NewNull()
	case bool:
		return ast.NewBool(v)
	case string:
		return ast.NewString(v)
	case int64:
		return ast.NewLit(token.INT, strconv.FormatInt(v, 10))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			panic("fleet: non-finite float from a Nix literal")
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return ast.NewLit(token.FLOAT, s)
	case []any:
		var xs []ast.Expr
		for _, x := range v {
			xs = append(xs, cueValue(x))
		}
		return ast.NewList(xs...)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fs []any
		for _, k := range keys {
			fs = append(fs, field(k, cueValue(v[k])))
		}
		return ast.NewStruct(fs...)
	case mkDefault:
		return ast.NewStruct(&ast.Field{Label: ast.NewIdent("$default"), Value: cueValue(v.v)})
	}
	panic("fleet: unexpected value type from a Nix literal")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// firstFile names the input diagnostics fall back to.
func (in HardwareInput) firstFile() string {
	if in.Nix != nil {
		return in.Nix.File
	}
	return in.Facter.File
}

// checkImport checks the facts as vet would check the host value they
// become, and reports what it would refuse where the input says it: a
// value out of the schema's bounds, a NUL character (which Nix cuts a
// string at), a field name starting with $ (a marker in fleet's CUE), a
// number CUE cannot write, a literal secret among the carried-over
// settings.
func checkImport(f *hwimport.Facts, input string) diag.List {
	var errs diag.List
	at := func(path []string) diag.Range {
		for _, s := range f.Extra {
			if len(path) > len(s.Path) && path[0] == "nixos" && slices.Equal(path[1:len(s.Path)+1], s.Path) {
				return s.Range
			}
		}
		p := path
		if len(p) > 0 && p[0] == "hardware" {
			p = p[1:]
		}
		for n := len(p); n > 0; n-- {
			if r, ok := f.Where[strings.Join(p[:n], ".")]; ok && r.Start.IsValid() {
				return r
			}
		}
		return diag.Range{File: input, Start: diag.Pos{Line: 1, Col: 1}, End: diag.Pos{Line: 1, Col: 1}}
	}
	add := func(path []string, summary string) {
		errs.Add(diag.Diagnostic{Severity: diag.Error, Range: at(path), Path: slices.Clone(path),
			Summary: formatPath(path) + ": " + summary,
			Detail:  "fix it in the input, or leave it out and set it in CUE"})
	}
	for _, s := range f.Extra {
		p := append([]string{"nixos"}, s.Path...)
		walkData(p, s.Value, func(p []string, v any) {
			if k := p[len(p)-1]; strings.HasPrefix(k, "$") {
				add(p, "a setting whose name starts with $, which fleet's CUE reads as a marker")
			}
			if x, ok := v.(float64); ok && (math.IsInf(x, 0) || math.IsNaN(x)) {
				add(p, "a number out of range")
			}
		})
		rules.LiteralSecrets(p, s.Value, func(q []string) {
			add(q, "a literal secret, which would be copied into the world-readable Nix store")
		})
	}
	if len(errs) > 0 {
		return errs
	}
	hf := &ast.File{}
	for _, fd := range hostFields(f) {
		hf.Decls = append(hf.Decls, fd)
	}
	src, err := format.Node(hf)
	if err != nil {
		return diag.List{{Severity: diag.Error, Range: at(nil), Summary: err.Error()}}
	}
	ctx, schema, err := compileSchema()
	if err != nil {
		return diag.List{{Severity: diag.Error, Range: at(nil), Summary: err.Error()}}
	}
	v := ctx.CompileBytes(src)
	var data any
	if b, err := v.MarshalJSON(); err == nil {
		json.Unmarshal(b, &data)
	}
	walkData(nil, data, func(p []string, v any) {
		s, _ := v.(string)
		if len(p) > 0 && strings.ContainsRune(p[len(p)-1], 0) || strings.ContainsRune(s, 0) {
			add(p, "a string or name holds a NUL character, which Nix cuts a string at")
		}
	})
	if len(errs) > 0 {
		return errs
	}
	u := schema.LookupPath(cue.ParsePath("#HostSpec")).Unify(v)
	for _, e := range cueerrors.Errors(u.Validate()) {
		format, args := e.Msg()
		var path []string
		for _, l := range e.Path() {
			if !strings.HasPrefix(l, "#") {
				path = append(path, strings.Trim(l, `"`))
			}
		}
		add(path, fmt.Sprintf(format, args...))
	}
	errs.Sort()
	return errs
}
