package hwimport

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"fleetnix.dev/fleet/internal/diag"
)

// FacterSchema is the JSON Schema fleet checks a nixos-facter report
// against before reading it, written from the report format nixos-facter
// documents. It covers the members fleet reads and allows the others.
//
//go:embed facter.schema.json
var FacterSchema []byte

const facterSchemaURL = "https://fleetnix.dev/schema/nixos-facter-report.json"

var (
	facterOnce   sync.Once
	facterSchema *jsonschema.Schema
	facterErr    error
)

func compiledFacterSchema() (*jsonschema.Schema, error) {
	facterOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.Draft = jsonschema.Draft2020
		if err := c.AddResource(facterSchemaURL, bytes.NewReader(FacterSchema)); err != nil {
			facterErr = err
			return
		}
		facterSchema, facterErr = c.Compile(facterSchemaURL)
	})
	return facterSchema, facterErr
}

// A facterReport is what fleet decodes of a report once it is valid.
type facterReport struct {
	Version        int                        `json:"version"`
	System         string                     `json:"system"`
	Virtualisation string                     `json:"virtualisation"`
	Hardware       map[string]json.RawMessage `json:"hardware"`
	Swap           []facterSwap               `json:"swap"`
	UEFI           *struct {
		Supported *bool `json:"supported"`
	} `json:"uefi"`
}

type facterCPU struct {
	Architecture string `json:"architecture"`
	VendorName   string `json:"vendor_name"`
	ModelName    string `json:"model_name"`
}

type facterDevice struct {
	Model           string          `json:"model"`
	UnixDeviceName  string          `json:"unix_device_name"`
	UnixDeviceNames []string        `json:"unix_device_names"`
	Device          json.RawMessage `json:"device"`
	DriverModule    string          `json:"driver_module"`
	DriverModules   []string        `json:"driver_modules"`
}

type facterSwap struct {
	Type     string `json:"type"`
	Path     string `json:"path"`
	Filename string `json:"filename"`
}

// initrdClasses are the device classes whose driver modules the initrd
// needs: storage to find the root filesystem, USB and FireWire for disks
// and a keyboard when something goes wrong early.
var initrdClasses = []string{"storage_controller", "usb_controller", "firewire_controller"}

// FromFacter reads a nixos-facter report, the contents of the file
// filename. The report is first validated against FacterSchema; every
// problem is reported at its place in the file. It yields the platform,
// the CPU vendor and model, the GPUs by driver, the initrd modules of
// storage, USB and FireWire controllers, the swap partitions in use,
// whether the firmware supports UEFI, and the disks. A report has no
// filesystems.
func FromFacter(filename string, src []byte) (*Facts, diag.List) {
	var errs diag.List
	var raw any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		errs.Add(jsonSyntaxError(filename, src, err))
		return nil, errs
	}
	if dec.More() {
		off := int(dec.InputOffset())
		x := lineIndex(filename, src)
		errs.Add(diag.Diagnostic{Severity: diag.Error, Range: diag.Range{File: filename, Start: x.pos(off), End: x.pos(off)},
			Summary: "malformed nixos-facter report: more than one JSON value"})
		return nil, errs
	}
	x := newJSONIndex(filename, src)
	sch, err := compiledFacterSchema()
	if err != nil {
		panic("hwimport: the facter schema does not compile: " + err.Error())
	}
	if err := sch.Validate(raw); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			errs.Add(diag.Diagnostic{Severity: diag.Error, Range: x.rng(""), Summary: "malformed nixos-facter report: " + err.Error()})
			return nil, errs
		}
		for _, leaf := range leaves(ve) {
			where := leaf.InstanceLocation
			if where == "" {
				where = "/"
			}
			errs.Add(diag.Diagnostic{Severity: diag.Error, Range: x.rng(leaf.InstanceLocation),
				Summary: fmt.Sprintf("malformed nixos-facter report at %s: %s", where, leaf.Message)})
		}
		errs.Sort()
		return nil, errs
	}
	var rep facterReport
	if err := json.Unmarshal(src, &rep); err != nil {
		errs.Add(diag.Diagnostic{Severity: diag.Error, Range: x.rng(""), Summary: "malformed nixos-facter report: " + err.Error()})
		return nil, errs
	}
	f := &Facts{Where: map[string]diag.Range{}}
	r := &facterReader{x: x, f: f}
	r.read(&rep)
	r.errs.Sort()
	if r.errs.HasErrors() {
		return nil, r.errs
	}
	return f, r.errs
}

// leaves returns the innermost validation errors, the ones that say what
// is wrong, in instance order.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	seen := map[string]bool{}
	for _, c := range ve.Causes {
		for _, l := range leaves(c) {
			k := l.InstanceLocation + "\x00" + l.Message
			if !seen[k] {
				seen[k] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func jsonSyntaxError(file string, src []byte, err error) diag.Diagnostic {
	off := len(src)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = int(se.Offset)
	case errors.As(err, &te):
		off = int(te.Offset)
	}
	x := lineIndex(file, src)
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "unexpected end of input"
	}
	return diag.Diagnostic{Severity: diag.Error, Range: diag.Range{File: file, Start: x.pos(off), End: x.pos(off)},
		Summary: "malformed nixos-facter report: not JSON: " + msg}
}

type facterReader struct {
	x    *jsonIndex
	f    *Facts
	errs diag.List
}

func (r *facterReader) read(rep *facterReport) {
	f := r.f
	if slices.Contains(Systems, rep.System) {
		f.System = rep.System
		f.Where["system"] = r.x.rng("/system")
	} else {
		r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.x.rng("/system"),
			Summary: fmt.Sprintf("unsupported platform %q", rep.System), Detail: "fleet's hosts run on " + strings.Join(Systems, " or ")})
	}
	if v := rep.Virtualisation; v != "" && v != "none" {
		r.errs.Add(diag.Diagnostic{Severity: diag.Warning, Range: r.x.rng("/virtualisation"),
			Summary: fmt.Sprintf("not imported: the machine is a %s guest", v),
			Detail:  "add the guest support it needs (such as the qemu-guest profile) to the host"})
	}
	r.cpus(rep.Hardware["cpu"])
	modules := map[string]bool{}
	for _, class := range initrdClasses {
		for i, d := range r.devices(rep.Hardware, class) {
			for _, m := range d.modules() {
				if !modules[m] {
					modules[m] = true
					f.InitrdAvailableKernelModules = append(f.InitrdAvailableKernelModules, m)
				}
			}
			if len(d.modules()) > 0 && f.Where["initrd.availableKernelModules"] == (diag.Range{}) {
				f.Where["initrd.availableKernelModules"] = r.x.rng(fmt.Sprintf("/hardware/%s/%d", class, i))
			}
		}
	}
	sort.Strings(f.InitrdAvailableKernelModules)
	for i, d := range r.devices(rep.Hardware, "graphics_card") {
		dev := &GPUDevice{Model: d.Model}
		for _, m := range d.modules() {
			switch m {
			case "amdgpu":
				f.GPU.AMD = dev
			case "nvidia", "nouveau":
				f.GPU.Nvidia = dev
			case "i915", "xe":
				f.GPU.Intel = dev
			default:
				continue
			}
			f.Where["gpu."+m] = r.x.rng(fmt.Sprintf("/hardware/graphics_card/%d", i))
		}
	}
	if rep.UEFI != nil && rep.UEFI.Supported != nil {
		f.Boot.UEFI = rep.UEFI.Supported
		f.Where["uefi"] = r.x.rng("/uefi/supported")
	}
	for _, d := range r.devices(rep.Hardware, "disk") {
		if n := diskName(d.UnixDeviceNames, d.UnixDeviceName); n != "" {
			f.Boot.Disks = union(f.Boot.Disks, []string{n})
		}
	}
	for i, s := range rep.Swap {
		p := s.Path
		if p == "" {
			p = s.Filename
		}
		// Swap files and zram are set up by configuration, not found on
		// disk: only partitions are hardware.
		if s.Type != "partition" || strings.HasPrefix(p, "/dev/zram") {
			continue
		}
		if f.Swap == nil {
			f.Swap = map[string]Swap{}
		}
		if _, dup := f.Swap[p]; dup {
			r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.x.rng(fmt.Sprintf("/swap/%d", i)),
				Summary: "duplicate swap device " + p,
				Related: []diag.Related{{Range: f.Where["swap."+p], Message: "first listed here"}}})
			continue
		}
		f.Swap[p] = Swap{}
		f.Where["swap."+p] = r.x.rng(fmt.Sprintf("/swap/%d", i))
	}
}

func (d *facterDevice) modules() []string {
	out := slices.Clone(d.DriverModules)
	if d.DriverModule != "" && !slices.Contains(out, d.DriverModule) {
		out = append(out, d.DriverModule)
	}
	return out
}

func (r *facterReader) devices(hw map[string]json.RawMessage, class string) []facterDevice {
	var ds []facterDevice
	if raw, ok := hw[class]; ok {
		if err := json.Unmarshal(raw, &ds); err != nil {
			r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.x.rng("/hardware/" + class),
				Summary: "malformed nixos-facter report: " + err.Error()})
		}
	}
	return ds
}

func (r *facterReader) cpus(raw json.RawMessage) {
	if raw == nil {
		return
	}
	var cpus []facterCPU
	if err := json.Unmarshal(raw, &cpus); err != nil {
		r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: r.x.rng("/hardware/cpu"), Summary: "malformed nixos-facter report: " + err.Error()})
		return
	}
	f := r.f
	for i, c := range cpus {
		at := r.x.rng(fmt.Sprintf("/hardware/cpu/%d", i))
		var vendor string
		switch c.VendorName {
		case "AuthenticAMD":
			vendor = "amd"
		case "GenuineIntel":
			vendor = "intel"
		}
		if vendor != "" {
			if f.CPU.Vendor != "" && f.CPU.Vendor != vendor {
				r.errs.Add(diag.Diagnostic{Severity: diag.Error, Range: at,
					Summary: "the report lists processors of two vendors, " + f.CPU.Vendor + " and " + vendor,
					Related: []diag.Related{{Range: f.Where["cpu.vendor"], Message: "the other processor"}}})
				continue
			}
			if f.CPU.Vendor == "" {
				f.CPU.Vendor = vendor
				f.Where["cpu.vendor"] = at
			}
		}
		if f.CPU.Model == "" && c.ModelName != "" {
			f.CPU.Model = c.ModelName
			f.Where["cpu.model"] = at
		}
	}
}
