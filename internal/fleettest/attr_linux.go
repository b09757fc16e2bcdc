package fleettest

import "syscall"

// serverAttr puts a test server in a process group of its own and has the
// kernel kill it when the test binary dies.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
