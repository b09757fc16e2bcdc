//go:build unix

package fleet

import (
	"os"
	"syscall"
)

// openNixFile opens path for reading without waiting for a writer when
// it is a named pipe, and without following a symlink at path unless
// follow is set.
func openNixFile(path string, follow bool) (*os.File, error) {
	flag := os.O_RDONLY | syscall.O_NONBLOCK
	if !follow {
		flag |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(path, flag, 0)
}
