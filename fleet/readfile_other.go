//go:build !unix

package fleet

import (
	"fmt"
	"os"
)

// openNixFile opens path for reading, refusing what Lstat (Stat with
// follow) does not call a regular file.
func openNixFile(path string, follow bool) (*os.File, error) {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	info, err := stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s, not a regular file", path, fileKind(info.Mode()))
	}
	return os.Open(path)
}
