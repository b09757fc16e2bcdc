package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestDefaultMemoryLimit checks that fleetgen sets its soft memory limit
// when GOMEMLIMIT is unset, and leaves the limit GOMEMLIMIT set alone.
func TestDefaultMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	t.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(math.MaxInt64) // what GOMEMLIMIT=off makes it
	defaultMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, the limit is %d, want it left as it was", got)
	}

	os.Unsetenv("GOMEMLIMIT")
	defaultMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 900<<20 {
		t.Errorf("without GOMEMLIMIT, the limit is %d, want 900 MiB", got)
	}
}
