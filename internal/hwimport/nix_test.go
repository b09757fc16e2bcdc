package hwimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/diag"
)

var update = os.Getenv("FLEET_UPDATE") != ""

// groups are the machines of testdata/nix, each spelled several ways.
func groups(t *testing.T) map[string][]string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/nix/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixture groups: %v", err)
	}
	out := map[string][]string{}
	for _, d := range dirs {
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d, "*.nix"))
		if len(files) < 3 {
			t.Fatalf("%s: want at least three spellings, have %d", d, len(files))
		}
		out[filepath.Base(d)] = files
	}
	return out
}

func readNix(t *testing.T, file string) (*Facts, diag.List) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return FromNix(file, src)
}

// stripped returns f without positions, for comparing spellings.
func stripped(f *Facts) Facts {
	c := *f
	c.Where = nil
	c.Extra = slices.Clone(f.Extra)
	for i := range c.Extra {
		c.Extra[i].Range = diag.Range{}
	}
	return c
}

// TestSpellings checks that every spelling of a machine gives the same
// facts, and that those facts are the golden ones.
func TestSpellings(t *testing.T) {
	for name, files := range groups(t) {
		t.Run(name, func(t *testing.T) {
			var first Facts
			for i, file := range files {
				f, errs := readNix(t, file)
				if errs.HasErrors() {
					t.Fatalf("%s: %v", file, errs)
				}
				if i == 0 {
					first = stripped(f)
					continue
				}
				if got := stripped(f); !reflect.DeepEqual(got, first) {
					t.Errorf("%s and %s give different facts:\n%+v\n%+v", files[0], file, first, got)
				}
			}
			got, err := json.MarshalIndent(first.NixOS(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata/nix", name+".golden.json")
			if update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (FLEET_UPDATE=1 writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("facts differ from %s:\n%s", golden, got)
			}
		})
	}
}

// needNix skips the test when nix-instantiate is missing, unless CI is
// set, when it fails.
func needNix(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but nix-instantiate is not on PATH: %v", err)
		}
		t.Skip("nix-instantiate not found: skipping the real-Nix oracle (install Debian's nix-bin)")
	}
	return p
}

// evalNix evaluates a hardware file with testdata/eval-hardware.nix.
func evalNix(t *testing.T, nix, file string) any {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "--argstr", "file", abs, "testdata/eval-hardware.nix")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate %s: %v\n%s", file, err, stderr.Bytes())
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// normal puts JSON data in a canonical form: lists sorted by their
// elements' encoding and without repeats (the facts are sets), and empty
// lists and objects left out.
func normal(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			x = normal(x)
			if isEmpty(x) {
				continue
			}
			out[k] = x
		}
		return out
	case []any:
		out := make([]any, len(v))
		keys := make([]string, len(v))
		for i, x := range v {
			out[i] = normal(x)
			b, _ := json.Marshal(out[i])
			keys[i] = string(b)
		}
		sort.Sort(byKey{out, keys})
		// The facts are sets: a repeated element says nothing more.
		var set []any
		for i := range out {
			if i == 0 || keys[i] != keys[i-1] {
				set = append(set, out[i])
			}
		}
		return set
	}
	return v
}

type byKey struct {
	v []any
	k []string
}

func (b byKey) Len() int           { return len(b.v) }
func (b byKey) Less(i, j int) bool { return b.k[i] < b.k[j] }
func (b byKey) Swap(i, j int) {
	b.v[i], b.v[j] = b.v[j], b.v[i]
	b.k[i], b.k[j] = b.k[j], b.k[i]
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// jsonData round-trips v through JSON, so numbers compare as Nix's do.
func jsonData(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOracle checks every fixture against real Nix: the imported facts,
// as NixOS configuration, are what the file evaluates to.
func TestOracle(t *testing.T) {
	nix := needNix(t)
	var files []string
	for _, fs := range groups(t) {
		files = append(files, fs...)
	}
	odd, _ := filepath.Glob("testdata/odd/*.nix")
	files = append(files, odd...)
	sort.Strings(files)
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			f, errs := readNix(t, file)
			if errs.HasErrors() {
				t.Fatalf("%v", errs)
			}
			want := normal(evalNix(t, nix, file))
			got := normal(jsonData(t, f.NixOS()))
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("imported facts differ from Nix's value\nimported: %s\nnix:      %s", g, w)
			}
		})
	}
}

// TestOracleDetectsDifference makes sure the oracle comparison can fail:
// a fact changed after reading no longer matches Nix.
func TestOracleDetectsDifference(t *testing.T) {
	nix := needNix(t)
	file := "testdata/nix/intel-laptop/flat.nix"
	f, errs := readNix(t, file)
	if errs.HasErrors() {
		t.Fatal(errs)
	}
	f.KernelModules = append(f.KernelModules, "kvm-amd")
	if reflect.DeepEqual(normal(jsonData(t, f.NixOS())), normal(evalNix(t, nix, file))) {
		t.Fatal("a changed fact still matched Nix's value")
	}
}

// TestBad checks that bad input gives errors at the right place.
func TestBad(t *testing.T) {
	tests := []struct {
		file string
		want []string // "line:col: summary regexp"
	}{
		{"syntax.nix", []string{`4:3: expected ` + "`;`" + ` after the value of ` + "`boot.kernelModules`" + ``}},
		{"mkif.nix", []string{`3:24: cannot import boot.kernelModules: lib.mkIf .* is not a literal value`}},
		{"letbinding.nix", []string{`2:1: expected an attribute set of settings, found let`}},
		{"interpolated.nix", []string{`4:14: cannot import fileSystems./.device: "/dev/disk/by-uuid/\$\{lib.uuid\}" is not a literal`}},
		{"dupmount.nix", []string{`4:32: duplicate mount point /mnt/data: "/mnt/data" and "/mnt/data/"`}},
		{"dupattr.nix", []string{`5:5: attribute .kernelModules. already defined at 3:3`}},
		{"fstype.nix", []string{`3:66: unsupported filesystem type "ntfs"`}},
		{"platform.nix", []string{`3:26: unsupported platform lib.mkDefault "riscv64-linux"`}},
		{"vendors.nix", []string{`4:3: the CPU is both amd and intel`}},
		{"swaplabel.nix", []string{`3:19: cannot import swap attribute label`, `3:19: swap entry has no device`}},
		{"nodevice.nix", []string{`3:3: fileSystems."/" has no device`}},
		{"package.nix", []string{`3:32: cannot import boot.extraModulePackages: config.boot.kernelPackages.v4l2loopback is not a literal value`}},
		{"notlist.nix", []string{`3:24: boot.kernelModules must be a list of strings, found "kvm-amd"`}},
		{"notaset.nix", []string{`2:1: expected an attribute set of settings, found lib.mkMerge`}},
		{"inherit.nix", []string{`3:3: cannot import inherit \(lib\) boot;: inherit takes values`}},
		{"computedname.nix", []string{`3:15: cannot import an attribute with a computed name \$\{mount\}`}},
	}
	files, _ := filepath.Glob("testdata/bad/*.nix")
	if len(files) != len(tests) {
		t.Errorf("testdata/bad has %d files, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, errs := readNix(t, filepath.Join("testdata/bad", tt.file))
			if f != nil {
				t.Errorf("got facts despite errors")
			}
			if !errs.HasErrors() {
				t.Fatalf("no errors")
			}
			var got []string
			for _, d := range errs {
				if d.Severity == diag.Error {
					got = append(got, fmt.Sprintf("%d:%d: %s", d.Range.Start.Line, d.Range.Start.Col, d.Summary))
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !regexp.MustCompile("^" + w).MatchString(got[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
		})
	}
}

// TestOdd checks that readable input with parts that are not hardware
// facts gives facts plus a warning at each such part.
func TestOdd(t *testing.T) {
	f, errs := readNix(t, "testdata/odd/odd.nix")
	if errs.HasErrors() || f == nil {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for _, d := range errs {
		got = append(got, fmt.Sprintf("%d:%d: %s: %s", d.Range.Start.Line, d.Range.Start.Col, d.Severity, d.Summary))
	}
	want := []string{
		`4:15: warning: not imported: the module (modulesPath + "/profiles/qemu-guest.nix")`,
		`5:68: warning: "virtio_pci" is listed twice in boot.initrd.availableKernelModules`,
		`6:62: warning: not a hardware fact: fileSystems./.neededForBoot`,
		`7:3: warning: not a hardware fact: services.qemuGuest.enable`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(f.InitrdAvailableKernelModules, []string{"virtio_blk", "virtio_pci"}) {
		t.Errorf("modules %q", f.InitrdAvailableKernelModules)
	}
	if len(f.Extra) != 2 || !f.Extra[1].Default || f.Extra[0].Default {
		t.Errorf("extra settings %+v", f.Extra)
	}
}
