//go:build unix

package fleet

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openRegular opens the regular file path for reading without following
// a symbolic link and without blocking on a FIFO put there since it was
// listed; anything but a regular file is an error.
func openRegular(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	return f, nil
}

// writable reports an error when the directory dir cannot be changed:
// its mode, or a read-only file system, forbids it.
func writable(dir string) error {
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return &os.PathError{Op: "write", Path: dir, Err: err}
	}
	return nil
}

// lockDir locks the directory dir against other fleetgen runs writing
// beside it, waiting for one that holds it: exclusive to write, shared to
// read. The kernel drops the lock when the process ends, however it ends,
// so there is never a stale lock to clear.
func lockDir(dir string, exclusive bool) (unlock func(), err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "lock", Path: dir, Err: err}
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "lock", Path: dir, Err: err}
	}
	return func() { unix.Close(fd) }, nil
}
