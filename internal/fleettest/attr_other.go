//go:build unix && !linux

package fleettest

import "syscall"

// serverAttr puts a test server in a process group of its own. Only Linux
// can have it killed with the test binary; elsewhere a test that panics
// may leave it running until its port is reused.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
