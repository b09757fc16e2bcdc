//go:build !linux

package main

import (
	"errors"
	"os"
)

// mountReadOnly is not available: no bind mounts.
func mountReadOnly(dir string) (unmount func(), err error) {
	return nil, errors.New("no read-only bind mounts on this system")
}

// readOnlyMissing says why readonly cannot work here (root, whom
// permission bits do not stop), or returns "".
func readOnlyMissing() string {
	if os.Geteuid() == 0 {
		return "running as root, whom permission bits do not stop"
	}
	return ""
}
