package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// mountReadOnly bind-mounts dir read-only over itself.
func mountReadOnly(dir string) (unmount func(), err error) {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return nil, err
	}
	unmount = func() { unix.Unmount(dir, unix.MNT_DETACH) }
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		unmount()
		return nil, err
	}
	return unmount, nil
}

// readOnlyMissing says why readonly cannot work here (root without the
// right to mount), or returns "".
func readOnlyMissing() string {
	if os.Geteuid() != 0 {
		return ""
	}
	dir, err := os.MkdirTemp("", "readonly-probe")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	unmount, err := mountReadOnly(dir)
	if err != nil {
		return "running as root, which may not bind-mount a directory read-only here: " + err.Error()
	}
	unmount()
	return ""
}
