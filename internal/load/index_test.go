package load

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// spillCache returns a cache in dir with the index of a fleet at /fleet
// in use and a batch open, and that batch's closing function.
func spillCache(t *testing.T, dir string) (*cache, func()) {
	t.Helper()
	c := openCache(dir, fstest.MapFS{"a.cue": {Data: []byte("package schema\n")}})
	if c == nil {
		t.Fatal("no cache")
	}
	c.useIndex("/fleet")
	return c, c.batch()
}

// leftovers returns the names under dir of what a run may leave behind:
// temporary files, spill files.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasPrefix(d.Name(), ".tmp-") || strings.Contains(d.Name(), "spill")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestIndexSpill checks that the entries a batch writes are not held in
// memory but in a spill file that has no name on disk, that they read
// back as written while the batch is open, that the index written when
// it closes holds them, and that an entry damaged in the spill file is
// neither served nor written to the index.
func TestIndexSpill(t *testing.T) {
	dir := t.TempDir()
	c, done := spillCache(t, dir)
	want := map[string][]byte{}
	for i := range 50 {
		key := c.key("gen", []byte{byte(i)})
		parts := [][]byte{[]byte(fmt.Sprintf("entry %d", i)), bytes.Repeat([]byte{byte(i)}, 100*i)}
		c.put(key, (*rawEntry)(&parts))
		want[key] = encodeParts(parts)
	}
	for key := range want {
		if e := c.index.used[key]; e.b != nil || e.n != len(want[key]) {
			t.Fatalf("%s is held in memory (%d bytes), not in the spill file", key, len(e.b))
		}
	}
	if c.index.spill == nil {
		t.Fatal("no spill file")
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Fatalf("the spill file has a name while the batch is open: %v", left)
	}
	// Damage one entry where the spill file holds it.
	var bad string
	for key := range want {
		bad = key
		break
	}
	e := c.index.used[bad]
	c.index.spill.flush()
	if _, err := c.index.spill.f.WriteAt([]byte("XX"), e.off+e.n64()/2); err != nil {
		t.Fatal(err)
	}
	for key, b := range want {
		var r rawEntry
		ok := c.get(key, &r)
		if key == bad {
			if ok {
				t.Errorf("the damaged entry %s was served", key)
			}
			continue
		}
		if !ok || !bytes.Equal(encodeParts(r), b) {
			t.Errorf("%s: read back %v, %q; want %q", key, ok, encodeParts(r), b)
		}
	}
	done()
	got, err := Entries(dir)
	if err != nil {
		t.Fatal(err)
	}
	for key, b := range want {
		if key == bad {
			if _, ok := got[key]; ok {
				t.Errorf("the damaged entry %s was written to the index", key)
			}
			continue
		}
		if !bytes.Equal(got[key], b) {
			t.Errorf("%s: the index holds %q, want %q", key, got[key], b)
		}
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// The next run finds them in the index.
	c2, done2 := spillCache(t, dir)
	defer done2()
	for key, b := range want {
		var r rawEntry
		if ok := c2.get(key, &r); ok != (key != bad) || ok && !bytes.Equal(encodeParts(r), b) {
			t.Errorf("next run: %s read %v, want %v", key, ok, key != bad)
		}
	}
}

// n64 is the entry's size as an offset.
func (e usedEntry) n64() int64 { return int64(e.n) }

// TestIndexSpillKilled kills (SIGKILL) a process with entries in its
// spill file and its batch open, and checks that it left nothing in the
// cache: no spill file, no index, no temporary file.
func TestIndexSpillKilled(t *testing.T) {
	if dir := os.Getenv("FLEET_TEST_SPILL_DIR"); dir != "" {
		c, _ := spillCache(t, dir)
		for i := range 1000 {
			parts := [][]byte{bytes.Repeat([]byte{byte(i)}, 1000)}
			c.put(c.key("gen", []byte(fmt.Sprint(i))), (*rawEntry)(&parts))
		}
		c.index.spill.flush()
		if c.index.spill == nil || c.index.spill.size < 1000*1000 {
			t.Fatal("nothing spilled")
		}
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
		time.Sleep(time.Minute)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexSpillKilled$")
	cmd.Env = append(os.Environ(), "FLEET_TEST_SPILL_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the process did not spill: %s", out.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the process was not killed: %s", out.String())
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("a killed run left %v", left)
	}
	if got, err := Entries(dir); err != nil || len(got) > 0 {
		t.Errorf("a killed run left %d entries (%v)", len(got), err)
	}
}
