package nixos

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// CheckTree checks every module of a generated tree under dir (hosts/,
// users/, disks/, installers/) with Check. When opts.Inputs is nil they
// are read from dir/flake.nix, if it exists. File names in the findings
// are dir joined with the file's path. Files that do not parse are
// reported with the parser's errors. The error is for a tree that cannot
// be read.
func (m *Manifest) CheckTree(dir string, opts Options) (diag.List, error) {
	var all diag.List
	if opts.Inputs == nil {
		name := filepath.Join(dir, "flake.nix")
		if src, err := os.ReadFile(name); err == nil {
			f, errs := syntax.Parse(name, src)
			if len(errs) > 0 {
				return errs, nil
			}
			opts.Inputs = FlakeInputs(f)
		} else if !os.IsNotExist(err) {
			return nil, err
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if _, ok := KindOf(filepath.ToSlash(rel)); ok {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, rel := range files {
		k, _ := KindOf(filepath.ToSlash(rel))
		name := filepath.Join(dir, rel)
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, errs := syntax.Parse(name, src)
		if len(errs) > 0 {
			all = append(all, errs...)
			continue
		}
		all = append(all, m.Check(f, k, opts)...)
	}
	all.Sort()
	return all, nil
}

// FlakeInputs returns the inputs of a flake, name to url, as a generated
// flake.nix writes them (inputs.<name>.url = "..." or inputs.<name> =
// { url = "..."; ... }). An input without a literal url maps to "".
func FlakeInputs(f *syntax.File) map[string]string {
	out := map[string]string{}
	set, ok := syntax.Unparen(f.Expr).(*syntax.AttrSet)
	if !ok {
		return out
	}
	var visit func(prefix []string, bs []syntax.Binding)
	visit = func(prefix []string, bs []syntax.Binding) {
		eachAttr(bs, func(a *syntax.Attr, names []string) {
			p := append(append([]string(nil), prefix...), names...)
			if p[0] != "inputs" {
				return
			}
			if len(p) >= 2 {
				if _, seen := out[p[1]]; !seen {
					out[p[1]] = ""
				}
			}
			if len(p) == 3 && p[2] == "url" {
				if l := classify(a.Value); l.kind == litString && l.strKnown {
					out[p[1]] = l.s
				}
				return
			}
			if len(p) < 3 {
				if inner, ok := syntax.Unparen(a.Value).(*syntax.AttrSet); ok {
					visit(p, inner.Bindings)
				}
			}
		})
	}
	visit(nil, set.Bindings)
	return out
}
