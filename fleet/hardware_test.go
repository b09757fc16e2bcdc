package fleet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

const hwFixtures = "../internal/hwimport/testdata"

func importFile(t *testing.T, host, nixFile, facterFile string) (*HardwareImport, error) {
	t.Helper()
	var in HardwareInput
	in.Host = host
	if nixFile != "" {
		src, err := os.ReadFile(nixFile)
		if err != nil {
			t.Fatal(err)
		}
		in.Nix = &HardwareSource{File: nixFile, Src: src}
	}
	if facterFile != "" {
		src, err := os.ReadFile(facterFile)
		if err != nil {
			t.Fatal(err)
		}
		in.Facter = &HardwareSource{File: facterFile, Src: src}
	}
	return ImportHardware(in)
}

// hostSpec returns the schema's #HostSpec.
func hostSpec(t *testing.T) cue.Value {
	t.Helper()
	_, v, err := compileSchema()
	if err != nil {
		t.Fatal(err)
	}
	return v.LookupPath(cue.ParsePath("#HostSpec"))
}

// TestImportHardwareSpellings checks that every spelling of a machine
// gives the same CUE bytes, that they are the golden ones, and that the
// host value they hold is a valid #HostSpec.
func TestImportHardwareSpellings(t *testing.T) {
	spec := hostSpec(t)
	groups, _ := filepath.Glob(filepath.Join(hwFixtures, "nix", "*"))
	n := 0
	for _, dir := range groups {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		n++
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.nix"))
			var first []byte
			for _, file := range files {
				res, err := importFile(t, "h1", file, "")
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if first == nil {
					first = res.CUE
					continue
				}
				if !bytes.Equal(res.CUE, first) {
					t.Errorf("%s and %s give different CUE:\n%s\n---\n%s", files[0], file, first, res.CUE)
				}
			}
			golden := filepath.Join("testdata", "hardware", name+".cue")
			if os.Getenv("FLEET_UPDATE") != "" {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, first, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (FLEET_UPDATE=1 writes it)", err)
			}
			if !bytes.Equal(first, want) {
				t.Errorf("output differs from %s:\n%s", golden, first)
			}
			v := cuecontext.New().CompileBytes(first)
			if v.Err() != nil {
				t.Fatalf("output does not compile: %v", v.Err())
			}
			host := spec.Unify(v.LookupPath(cue.ParsePath("hosts.h1")))
			if err := host.Validate(cue.Concrete(true)); err != nil {
				t.Errorf("output is not a valid #HostSpec: %v", err)
			}
		})
	}
	if n < 2 {
		t.Fatalf("found %d fixture groups", n)
	}
}

// TestImportHardwareSchemaCatchesBadValue checks that the schema check
// above can fail.
func TestImportHardwareSchemaCatchesBadValue(t *testing.T) {
	v := cuecontext.New().CompileString(`hardware: fileSystems: "/": fsType: "ntfs"`)
	if err := hostSpec(t).Unify(v).Validate(cue.Concrete(true)); err == nil {
		t.Fatal("an unsupported fsType validated")
	}
}

func TestImportHardwareNoHost(t *testing.T) {
	res, err := importFile(t, "", filepath.Join(hwFixtures, "nix/amd-workstation/flat.nix"), filepath.Join(hwFixtures, "facter/amd-workstation.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.CUE)
	for _, want := range []string{"\nsystem: \"x86_64-linux\"\n", "network: {\n\tdhcp: true\n}", `model:     "AMD Ryzen Threadripper PRO 3975WX 32-Cores"`, "amd: {\n\t\t\tenable: true", "\"/dev/disk/by-uuid/0d6a5f3e-1b2c-4d3e-8f4a-5b6c7d8e9f00\": {}"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hosts:") {
		t.Errorf("output without a host names hosts:\n%s", out)
	}
	if len(res.Warnings) != 2 {
		t.Errorf("warnings: %v", res.Warnings)
	}
}

func TestImportHardwareErrors(t *testing.T) {
	_, err := importFile(t, "h", filepath.Join(hwFixtures, "bad/mkif.nix"), "")
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Pos.Line != 3 || !strings.Contains(errs[0].Summary, "lib.mkIf") {
		t.Fatalf("error %v", err)
	}
	_, err = importFile(t, "h", filepath.Join(hwFixtures, "nix/intel-laptop/flat.nix"), filepath.Join(hwFixtures, "facter/amd-workstation.json"))
	if !errors.As(err, &errs) || !strings.Contains(errs.Error(), "disagree on cpu.vendor") {
		t.Fatalf("conflict: %v", err)
	}
}
