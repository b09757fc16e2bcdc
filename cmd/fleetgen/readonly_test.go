package main

import (
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// readOnly makes the directory DIR read-only for the commands that
// follow, as a user who may not write it sees it:
//
//	readonly nix
//
// Without root it removes write permission from DIR and everything in it;
// root, which permission bits do not stop, gets a read-only bind mount of
// DIR over itself instead (Linux). Both are undone when the script ends.
// Scripts using it start with "[!readonly] skip" (see readOnlyMissing).
func readOnly(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: readonly DIR")
	}
	dir := ts.MkAbs(args[0])
	if os.Geteuid() == 0 {
		unmount, err := mountReadOnly(dir)
		if err != nil {
			ts.Fatalf("readonly: %v", err)
		}
		ts.Defer(unmount)
		return
	}
	var paths []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, p)
			ts.Check(os.Chmod(p, info.Mode().Perm()&^0o222))
		}
		return nil
	})
	ts.Defer(func() {
		for _, p := range paths {
			if info, err := os.Lstat(p); err == nil {
				os.Chmod(p, info.Mode().Perm()|0o200)
			}
		}
	})
}
