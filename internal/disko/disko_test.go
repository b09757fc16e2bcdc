package disko

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

func layouts(t *testing.T) map[string]Layout {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 2 {
		t.Fatalf("found %d layouts", len(files))
	}
	out := map[string]Layout{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var l Layout
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = l
	}
	return out
}

// TestConfig checks the generated configuration against its golden file,
// that it parses cleanly with fleet's parser and does not change when
// formatted.
func TestConfig(t *testing.T) {
	for name, l := range layouts(t) {
		t.Run(name, func(t *testing.T) {
			if errs := Validate(l); len(errs) > 0 {
				t.Fatalf("invalid layout: %v", errs)
			}
			got, err := Config(l)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".nix")
			if os.Getenv("FLEET_UPDATE") != "" {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (FLEET_UPDATE=1 writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s:\n%s", golden, got)
			}
			if _, errs := syntax.Parse(golden, got); len(errs) > 0 {
				t.Errorf("generated file does not parse: %v", errs)
			}
			again, err := format.Source(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("formatting the generated file changes it (%v):\n%s", err, again)
			}
		})
	}
}

// want is the disko configuration of l as data, built independently of
// Config from disko's documented option names.
func want(l Layout) map[string]any {
	disks := map[string]any{}
	for _, d := range l.Disks {
		parts := map[string]any{}
		for i, p := range d.Partitions {
			e := map[string]any{"priority": float64(i + 1), "size": p.Size}
			if p.Type != "" {
				e["type"] = p.Type
			}
			var c map[string]any
			if fs := p.Filesystem; fs != nil {
				c = map[string]any{"type": "filesystem", "format": fs.Format, "mountpoint": fs.Mountpoint}
				if fs.MountOptions != nil {
					c["mountOptions"] = strs(fs.MountOptions)
				}
				if fs.ExtraArgs != nil {
					c["extraArgs"] = strs(fs.ExtraArgs)
				}
			}
			if s := p.Swap; s != nil {
				c = map[string]any{"type": "swap"}
				if s.RandomEncryption {
					c["randomEncryption"] = true
				}
				if s.ResumeDevice {
					c["resumeDevice"] = true
				}
			}
			if k := p.LUKS; k != nil {
				c = map[string]any{"type": "luks", "name": k.Name, "content": c}
				if k.PasswordFile != "" {
					c["passwordFile"] = k.PasswordFile
				}
				if k.AllowDiscards {
					c["settings"] = map[string]any{"allowDiscards": true}
				}
			}
			if c != nil {
				e["content"] = c
			}
			parts[p.Name] = e
		}
		disks[d.Name] = map[string]any{
			"type": "disk", "device": d.Device,
			"content": map[string]any{"type": "gpt", "partitions": parts},
		}
	}
	return map[string]any{"disko": map[string]any{"devices": map[string]any{"disk": disks}}}
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func needNix(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but nix-instantiate is not on PATH: %v", err)
		}
		t.Skip("nix-instantiate not found: skipping the real-Nix check (install Debian's nix-bin)")
	}
	return p
}

// TestConfigEvaluates evaluates each generated configuration with real Nix
// and compares it with the layout's data.
func TestConfigEvaluates(t *testing.T) {
	nix := needNix(t)
	for name, l := range layouts(t) {
		t.Run(name, func(t *testing.T) {
			src, err := Config(l)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "disko.nix")
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(nix, "--eval", "--strict", "--json", file)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("nix-instantiate: %v\n%s", err, stderr.Bytes())
			}
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if w := want(l); !reflect.DeepEqual(got, any(w)) {
				g, _ := json.MarshalIndent(got, "", "  ")
				ws, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("Nix's value differs from the layout\nnix:    %s\nlayout: %s", g, ws)
			}
		})
	}
}
