//go:build unix

package fleet_test

import (
	"syscall"
	"testing"
	"time"
)

// A usage is what the process has used so far: CPU time (user and
// system) and its peak resident set.
type usage struct {
	cpu    time.Duration
	maxRSS int64 // bytes
}

func usageNow(b *testing.B) usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return usage{
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSS: int64(ru.Maxrss) * 1024, // KiB on Linux
	}
}
