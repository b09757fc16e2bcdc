package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestGCFloor runs gcFloorCheck in a process of its own, the test binary
// run as the command gcfloor-check (see TestMain): the floor changes the
// whole process's collector for as long as it runs.
func TestGCFloor(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gcfloor-check")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// gcPercent returns the collector's percentage, leaving it as it is.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// gcFloorCheck checks that GOGC set and the commands that stream leave
// the collector alone, that the floor sets the goal before the first
// collection, and that after a collection the percentage follows the
// live heap: raised while it is small, the default once it is half the
// floor or more. It prints what is wrong and returns 1, or returns 0.
func gcFloorCheck() int {
	bad := 0
	errorf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		bad = 1
	}
	os.Setenv("GOGC", "100")
	defaultGCFloor([]string{"gen", "./..."})
	if p := gcPercent(); p != 100 {
		errorf("with GOGC set, the percentage is %d, want 100 as GOGC set it", p)
	}
	os.Unsetenv("GOGC")
	for _, cmd := range []string{"lint", "fmt", "parse"} {
		defaultGCFloor([]string{cmd, "."})
		if p := gcPercent(); p != 100 {
			errorf("for fleetgen %s the percentage is %d, want the default 100 (it streams)", cmd, p)
		}
	}

	const floor = 256 << 20
	setGCFloor(floor)
	if p, want := gcPercent(), floor*100/minHeap-100; p != want {
		errorf("before any collection the percentage is %d, want %d (a goal of the floor)", p, want)
	}
	// after waits for the tuner to set the percentage after a collection
	// with live bytes held, and returns it.
	after := func(live int) int {
		held := make([]byte, live)
		before := gcPercent()
		for range 100 {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			if gcPercent() != before {
				break
			}
		}
		runtime.KeepAlive(held)
		return gcPercent()
	}
	// 64 MiB live: a goal of 256 MiB is a percentage of 300, a little
	// less for the process's own heap.
	if p := after(64 << 20); p < 250 || p > 300 {
		errorf("with 64 MiB live the percentage is %d, want about 300 (a goal of 256 MiB)", p)
	}
	if p := after(160 << 20); p != 100 {
		errorf("with 160 MiB live the percentage is %d, want the default 100", p)
	}
	return bad
}
