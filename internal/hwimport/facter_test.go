package hwimport

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
)

func readFacter(t *testing.T, file string) (*Facts, diag.List) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return FromFacter(file, src)
}

func TestFacter(t *testing.T) {
	f, errs := readFacter(t, "testdata/facter/amd-workstation.json")
	if len(errs) > 0 {
		t.Fatalf("diagnostics: %v", errs)
	}
	want := Facts{
		System:                       "x86_64-linux",
		CPU:                          CPU{Vendor: "amd", Model: "AMD Ryzen Threadripper PRO 3975WX 32-Cores"},
		GPU:                          GPU{AMD: &GPUDevice{Model: "AMD Navi 31 [Radeon RX 7900 XTX]"}},
		InitrdAvailableKernelModules: []string{"ahci", "nvme", "xhci_pci"},
		Swap:                         map[string]Swap{"/dev/disk/by-uuid/0d6a5f3e-1b2c-4d3e-8f4a-5b6c7d8e9f00": {}},
	}
	if got := stripped(f); !reflect.DeepEqual(got, want) {
		t.Errorf("facts:\n got %+v\nwant %+v", got, want)
	}
	if r := f.Where["cpu.vendor"]; r.Start.Line != 11 || r.Start.Col != 7 {
		t.Errorf("cpu.vendor is at %v, want line 11 col 7", r)
	}
}

func TestFacterBad(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"truncated.json", []string{`6:1: malformed nixos-facter report: not JSON: unexpected end of input`}},
		{"malformed.json", []string{
			`2:14: malformed nixos-facter report at /version: must be >= 2 but found 1`,
			`5:32: malformed nixos-facter report at /hardware/cpu/0/architecture: value must be one of`,
			`6:49: malformed nixos-facter report at /hardware/storage_controller/0/driver_modules: expected array, but got string`,
			`8:13: malformed nixos-facter report at /swap/0: missing properties: 'filename'`,
			`8:13: malformed nixos-facter report at /swap/0: missing properties: 'path'`,
		}},
		{"twovendors.json", []string{`7:7: the report lists processors of two vendors, intel and amd`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, errs := readFacter(t, "testdata/facter/"+tt.file)
			if f != nil {
				t.Error("facts despite errors")
			}
			var got []string
			for _, d := range errs {
				got = append(got, fmt.Sprintf("%d:%d: %s", d.Range.Start.Line, d.Range.Start.Col, d.Summary))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !regexp.MustCompile("^" + regexp.QuoteMeta(w)).MatchString(got[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
		})
	}
}

func TestFacterGuest(t *testing.T) {
	f, errs := readFacter(t, "testdata/facter/guest.json")
	if errs.HasErrors() || len(errs) != 1 || !strings.Contains(errs[0].Summary, "kvm guest") || errs[0].Range.Start.Line != 4 {
		t.Fatalf("diagnostics: %v", errs)
	}
	if f.CPU.Vendor != "" || f.CPU.Model != "Neoverse-N1" || f.System != "aarch64-linux" || !slices.Equal(f.InitrdAvailableKernelModules, []string{"virtio_pci", "virtio_scsi"}) {
		t.Errorf("facts %+v", stripped(f))
	}
}

// TestMerge reads a machine from both sources and checks that the facts
// join, and that disagreements name both places.
func TestMerge(t *testing.T) {
	a, errs := readNix(t, "testdata/nix/amd-workstation/flat.nix")
	if errs.HasErrors() {
		t.Fatal(errs)
	}
	b, errs := readFacter(t, "testdata/facter/amd-workstation.json")
	if errs.HasErrors() {
		t.Fatal(errs)
	}
	if errs := Merge(a, b); len(errs) > 0 {
		t.Fatalf("merge: %v", errs)
	}
	if a.CPU.Model == "" || a.GPU.AMD == nil || len(a.Swap) != 1 || !slices.Contains(a.InitrdAvailableKernelModules, "usbhid") {
		t.Errorf("merged facts %+v", stripped(a))
	}
	c, _ := readNix(t, "testdata/nix/intel-laptop/flat.nix")
	d, _ := readFacter(t, "testdata/facter/amd-workstation.json")
	errs = Merge(c, d)
	if len(errs) != 1 || !strings.Contains(errs[0].Summary, "disagree on cpu.vendor") || len(errs[0].Related) != 1 || errs[0].Related[0].Range.File != "testdata/nix/intel-laptop/flat.nix" {
		t.Errorf("merge conflict: %v", errs)
	}
}
