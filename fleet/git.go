package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/emit"
)

// gitRoot returns the root of the git work tree dir is in, if any.
func gitRoot(dir string) (string, bool) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// checkTracked refuses to hand Nix the generated flake while files it
// needs are not tracked by git: in a git repository Nix copies a flake
// with the tracked files only, and fails on the rest with a store path
// that says nothing of git. It checks the generated tree and the secrets
// directory, when the driver uses the generated flake and it is in a
// work tree; without git installed it says nothing.
func (f *Fleet) checkTracked(ctx context.Context, opts *DriverOptions) error {
	if opts.Flake != "" {
		return nil
	}
	s, err := f.settings()
	if err != nil {
		return err
	}
	var dirs []string
	for _, d := range []string{s.Output, s.SecretsDir} {
		if d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(f.l.ModRoot, d)
		}
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	root, ok := gitRoot(f.l.ModRoot)
	if !ok || len(dirs) == 0 {
		return nil
	}
	files, err := build.Untracked(ctx, root, dirs...)
	if errors.Is(err, build.ErrNoGit) {
		return nil
	}
	if err != nil {
		return err
	}
	// Nix does not read the source map (the fleet's and each host's);
	// only fleetgen check does, from the work tree.
	if out := s.Output; out != "" {
		if !filepath.IsAbs(out) {
			out = filepath.Join(f.l.ModRoot, out)
		}
		if r, err := filepath.Rel(root, out); err == nil {
			prefix := filepath.ToSlash(r) + "/"
			if r == "." {
				prefix = ""
			}
			files = slices.DeleteFunc(files, func(p string) bool {
				rel, ok := strings.CutPrefix(p, prefix)
				return ok && emit.IsSourceMap(rel)
			})
		}
	}
	if len(files) == 0 {
		return nil
	}
	var rel []string
	for _, d := range dirs {
		r, _ := filepath.Rel(root, d)
		rel = append(rel, filepath.ToSlash(r))
	}
	shown := files
	if len(shown) > 5 {
		shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(files)-5))
	}
	return fmt.Errorf("the generated flake is in a git repository, and Nix sees only the files git tracks; %s not tracked: %s\n\trun: git -C %s add %s",
		plural(len(files), "this one is", "these are"), strings.Join(shown, ", "), root, strings.Join(rel, " "))
}
