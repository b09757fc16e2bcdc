//go:build !unix

package fleet

import (
	"errors"
	"os"
)

// openRegular opens the regular file path for reading; anything but a
// regular file, a link included, is an error.
func openRegular(path string) (*os.File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	return os.Open(path)
}

// writable reports an error when the directory dir is not writable by its
// mode; the system has no access(2) to ask.
func writable(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o200 == 0 {
		return &os.PathError{Op: "write", Path: dir, Err: os.ErrPermission}
	}
	return nil
}

// lockDir does nothing where the system has no flock: concurrent runs
// are not serialized there.
func lockDir(dir string, exclusive bool) (unlock func(), err error) { return func() {}, nil }
