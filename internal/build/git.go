package build

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sort"
)

// ErrNoGit says the git program is not installed.
var ErrNoGit = errors.New("git is not installed")

// Untracked returns the files under paths (absolute, inside the git work
// tree at root) that git does not track, ignored ones included, relative
// to root with forward slashes and sorted: a flake in a git repository is
// copied to the Nix store with the tracked files only, so Nix does not see
// these.
func Untracked(ctx context.Context, root string, paths ...string) ([]string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, ErrNoGit
	}
	args := []string{"-C", root, "ls-files", "-z", "--others", "--"}
	for _, p := range paths {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, err
		}
		args = append(args, filepath.ToSlash(rel))
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &Error{Op: "git ls-files", Kind: KindOther, ExitCode: -1, Err: err, Stderr: stderr.String()}
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	sort.Strings(files)
	return files, nil
}
