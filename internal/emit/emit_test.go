package emit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

var update = os.Getenv("FLEET_UPDATE") != ""

// TestGolden runs testdata/*.txtar: the archive's fleet.json section is a
// Fleet; every out/<path> section is a file Generate must write, and an
// error section is the error it must return instead. With a locate
// section, Generate writes the source map, each value's origin saying what
// Generate asked (describeOrigin). FLEET_UPDATE=1 rewrites the expected
// sections.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no test cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var in Fleet
			var wantErr string
			want := map[string]string{}
			for _, f := range ar.Files {
				switch {
				case f.Name == "fleet.json":
					d := json.NewDecoder(bytes.NewReader(f.Data))
					d.UseNumber()
					if err := d.Decode(&in); err != nil {
						t.Fatal(err)
					}
				case f.Name == "error":
					wantErr = strings.TrimSpace(string(f.Data))
				case f.Name == "locate":
					in.NewLocate = func() func(*Value) Origin { return describeOrigin }
				case strings.HasPrefix(f.Name, "out/"):
					want[strings.TrimPrefix(f.Name, "out/")] = string(f.Data)
				}
			}
			got, err := Generate(&in)
			if wantErr != "" || err != nil {
				if err == nil {
					t.Fatalf("Generate succeeded, want error %q", wantErr)
				}
				if update {
					setSection(ar, "error", err.Error()+"\n")
					os.WriteFile(file, txtar.Format(ar), 0o644)
					return
				}
				if err.Error() != wantErr {
					t.Fatalf("error = %q, want %q", err, wantErr)
				}
				return
			}
			if update {
				var keep []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "out/") {
						keep = append(keep, f)
					}
				}
				ar.Files = keep
				for _, g := range got {
					ar.Files = append(ar.Files, txtar.File{Name: "out/" + g.Path, Data: g.Data})
				}
				os.WriteFile(file, txtar.Format(ar), 0o644)
				return
			}
			for _, g := range got {
				w, ok := want[g.Path]
				if !ok {
					t.Errorf("unexpected file %s:\n%s", g.Path, g.Data)
					continue
				}
				delete(want, g.Path)
				if string(g.Data) != w {
					t.Errorf("%s:\ngot:\n%s\nwant:\n%s", g.Path, g.Data, w)
				}
				if IsSourceMap(g.Path) {
					continue
				}
				checkGenerated(t, g)
			}
			for p := range want {
				t.Errorf("missing file %s", p)
			}
			for _, g := range got {
				if g.Path == SourceMapFile {
					checkSourceMap(t, got)
				}
			}
		})
	}
}

// checkGenerated asserts a generated file parses cleanly with fleet's own
// parser and does not change when formatted.
func checkGenerated(t *testing.T, g File) {
	t.Helper()
	if _, errs := syntax.Parse(g.Path, g.Data); len(errs) > 0 {
		t.Errorf("%s does not parse: %v", g.Path, errs)
		return
	}
	f, err := format.Source(g.Data)
	if err != nil {
		t.Errorf("%s: format: %v", g.Path, err)
	} else if !bytes.Equal(f, g.Data) {
		t.Errorf("%s changes when formatted", g.Path)
	}
	if !bytes.HasPrefix(g.Data, []byte(Header+"\n")) {
		t.Errorf("%s does not start with the header", g.Path)
	}
}

func setSection(ar *txtar.Archive, name, data string) {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

func TestRelPath(t *testing.T) {
	for _, c := range []struct{ dir, file, want string }{
		{"hosts", "users/alice/web.nix", "../users/alice/web.nix"},
		{"nix/hosts", "secrets/x.age", "../../secrets/x.age"},
		{".", "hosts/web.nix", "./hosts/web.nix"},
		{"nix", "nix/hosts/web.nix", "./hosts/web.nix"},
	} {
		if got := relPath(c.dir, c.file); got != c.want {
			t.Errorf("relPath(%q, %q) = %q, want %q", c.dir, c.file, got, c.want)
		}
	}
}
