package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fleetnix.dev/fleet/internal/emit"
)

// twoFleets writes a small fleet into a new module directory and loads
// it twice, as variant a and variant b (b changes a value every host
// module shows), n times each, for runs on one output tree. It returns
// the module directory and the trees a and b generate.
func twoFleets(t *testing.T, n int) (dir string, a, b []*Fleet, treeA, treeB map[string][]byte) {
	t.Helper()
	dir = t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cue.mod/module.cue", "module: \"example.test/fleet@v0\"\nlanguage: version: \"v0.17.0\"\n")
	load := func(label string) *Fleet {
		t.Helper()
		var hosts strings.Builder
		for i := range 4 {
			fmt.Fprintf(&hosts, "hosts: h%d: {stateVersion: \"25.05\", deploy: targetHost: \"h%d.example.test\", "+
				"hardware: {boot: loader: \"none\", fileSystems: \"/\": {device: \"/dev/disk/by-label/%s\", fsType: \"ext4\"}}}\n", i, i, label)
		}
		write("fleet.cue", "package fleet\n\nimport \"fleetnix.dev/fleet/schema\"\n\nschema.#Fleet\n\n"+hosts.String())
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	tree := func(f *Fleet) map[string][]byte {
		files, _, err := f.files("")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]byte{}
		for _, e := range files {
			m[e.Path] = e.Data
		}
		return m
	}
	for range n {
		a = append(a, load("a"))
		b = append(b, load("b"))
	}
	return dir, a, b, tree(a[0]), tree(b[0])
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// checkWhole fails unless the output tree is exactly one of the trees
// given and nothing but the fleet and the tree is in the module.
func checkWhole(t *testing.T, dir string, trees ...map[string][]byte) {
	t.Helper()
	got := readTree(t, filepath.Join(dir, "nix"))
	whole := false
	for _, w := range trees {
		whole = whole || sameTree(got, w)
	}
	if !whole {
		var names []string
		for k := range got {
			names = append(names, k)
		}
		t.Fatalf("the tree is neither generated tree, but %d files %v", len(got), names)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); n != "cue.mod" && n != "fleet.cue" && n != "nix" {
			t.Errorf("left beside the tree: %s", n)
		}
	}
}

// TestGenerateConcurrent runs Generate from several goroutines at once on
// one output tree, with two fleets that differ. Each run must succeed,
// and the tree must be one of the two, whole, with nothing left beside it.
func TestGenerateConcurrent(t *testing.T) {
	const workers, runs = 3, 4
	dir, a, b, treeA, treeB := twoFleets(t, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers*runs)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range runs {
				f := a[w]
				if (w+i)%2 == 1 {
					f = b[w]
				}
				if _, err := f.Generate(GenerateOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Generate: %v", err)
	}
	checkWhole(t, dir, treeA, treeB)
}

// TestGenerateKilled kills (SIGKILL) a process that generates the two
// variants of a fleet into one tree over and over, and checks each time
// that the tree is one of the two, whole. Some kills come from the
// process itself at the steps where a run leaves something behind (its
// staged tree; the old tree it was removing), so that those states are
// reached on every machine however fast; the others come at random
// moments. The next Generate removes what the killed runs left.
func TestGenerateKilled(t *testing.T) {
	if dir := os.Getenv("FLEET_TEST_GENERATE_FOREVER"); dir != "" {
		generateForever(t, dir)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the exchange of trees is atomic on Linux only")
	}
	if testing.Short() {
		// .ci/run runs the race detector with -short: this test is about
		// processes killed, and the full suite runs it.
		t.Skip("-short: kills processes for several seconds")
	}
	dir, a, _, treeA, treeB := twoFleets(t, 1)
	if _, err := a[0].Generate(GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	// "staged:2" kills the process at the step "staged" of its second
	// run (which writes variant b); "" kills it from outside at random.
	kills := []string{"staged:1", "staged:2", "exchanged:1", "exchanged:2", "exchanged:3"}
	for range 10 {
		kills = append(kills, "")
	}
	for i, at := range kills {
		ready := filepath.Join(t.TempDir(), "ready")
		cmd := exec.Command(os.Args[0], "-test.run=^TestGenerateKilled$")
		cmd.Env = append(os.Environ(), "FLEET_TEST_GENERATE_FOREVER="+dir, "FLEET_TEST_READY="+ready,
			"FLEET_TEST_KILL_AT="+at, "FLEETCACHE=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if at == "" {
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the generating process did not start: %s", out.String())
				}
			}
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
		}
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d (%q): the generating process was not killed: %v\n%s", i, at, err, out.String())
		}
		left, _ := filepath.Glob(filepath.Join(dir, ".nix.new*"))
		if at != "" && len(left) == 0 {
			t.Fatalf("kill %d at %q left nothing beside the tree", i, at)
		}
		got := readTree(t, filepath.Join(dir, "nix"))
		if !sameTree(got, treeA) && !sameTree(got, treeB) {
			t.Fatalf("kill %d (%q): the tree is neither generated tree (%d files)", i, at, len(got))
		}
	}
	if _, err := a[0].Generate(GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	checkWhole(t, dir, treeA)
}

// generateForever is the killed process of TestGenerateKilled: it loads
// the two variants of the fleet in dir, says it is ready, and generates
// them in turn until it is killed.
func generateForever(t *testing.T, dir string) {
	src, err := os.ReadFile(filepath.Join(dir, "fleet.cue"))
	if err != nil {
		t.Fatal(err)
	}
	var fleets []*Fleet
	for _, label := range []string{"a", "b"} {
		s := strings.ReplaceAll(strings.ReplaceAll(string(src), "by-label/a", "by-label/"+label), "by-label/b", "by-label/"+label)
		cfg := &Config{Dir: dir, NixOS: true, Overlay: map[string][]byte{filepath.Join(dir, "fleet.cue"): []byte(s)}}
		f, err := Load(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		fleets = append(fleets, f)
	}
	if step, n, ok := strings.Cut(os.Getenv("FLEET_TEST_KILL_AT"), ":"); ok {
		runs, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		applyStep = func(s string) {
			if s != step {
				return
			}
			if runs--; runs == 0 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	if err := os.WriteFile(os.Getenv("FLEET_TEST_READY"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := fleets[i%2].Generate(GenerateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGenerateManifest checks what Generate trusts of the manifest the
// last run left in the cache: a file whose identity (device, inode,
// size, modification and change times) is the one recorded is not read
// (unchanged or changed, the hash says which); a file edited by hand is
// read and rewritten, even with its size and modification time as they
// were; a file put back as a copy (another inode) is read; without a
// cache every generated file is read, as before.
func TestGenerateManifest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the manifest is used where files have inodes and change times the kernel sets (Linux)")
	}
	dir, _, _, treeA, treeB := twoFleets(t, 1)
	cache := filepath.Join(t.TempDir(), "cache")
	src, err := os.ReadFile(filepath.Join(dir, "fleet.cue"))
	if err != nil {
		t.Fatal(err)
	}
	load := func(label string, cache string) *Fleet {
		t.Helper()
		s := strings.ReplaceAll(strings.ReplaceAll(string(src), "by-label/a", "by-label/"+label), "by-label/b", "by-label/"+label)
		f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, CacheDir: cache,
			Overlay: map[string][]byte{filepath.Join(dir, "fleet.cue"): []byte(s)}})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// gen generates variant label and returns what it wrote (relative
	// paths) and how many generated files it read whole.
	gen := func(label, cache string, check bool) ([]string, int64) {
		t.Helper()
		f := load(label, cache)
		before := treeReads.Load()
		res, err := f.Generate(GenerateOptions{Check: check})
		if err != nil {
			t.Fatal(err)
		}
		var wrote []string
		for _, p := range res.Written {
			rel, _ := filepath.Rel(filepath.Join(dir, "nix"), p)
			wrote = append(wrote, filepath.ToSlash(rel))
		}
		return wrote, treeReads.Load() - before
	}
	out := filepath.Join(dir, "nix")
	if wrote, _ := gen("a", cache, false); len(wrote) != len(treeA) {
		t.Fatalf("the first run wrote %v, want all %d files", wrote, len(treeA))
	}
	if wrote, read := gen("a", cache, false); len(wrote) != 0 || read != 0 {
		t.Errorf("again, unchanged: wrote %v and read %d files, want none", wrote, read)
	}
	// Variant b changes the host modules and the source map: they are
	// rewritten, and nothing is read to know it.
	var differ []string
	for p := range treeA {
		if !bytes.Equal(treeA[p], treeB[p]) {
			differ = append(differ, p)
		}
	}
	sort.Strings(differ)
	if wrote, read := gen("b", cache, false); !slices.Equal(wrote, differ) || read != 0 {
		t.Errorf("variant b wrote %v and read %d files; want %v written and none read", wrote, read, differ)
	}
	checkWhole(t, dir, treeB)

	// A hand edit that keeps the size and puts the modification time back.
	host := filepath.Join(out, "hosts", "h0.nix")
	editKeepingTimes(t, host, "by-label/b", "by-label/X")
	if wrote, read := gen("b", cache, true); !slices.Equal(wrote, []string{"hosts/h0.nix"}) || read != 1 {
		t.Errorf("check after a hand edit: stale %v, read %d files; want hosts/h0.nix, read once", wrote, read)
	}
	if wrote, _ := gen("b", cache, false); !slices.Equal(wrote, []string{"hosts/h0.nix"}) {
		t.Errorf("after a hand edit: wrote %v, want hosts/h0.nix", wrote)
	}
	checkWhole(t, dir, treeB)

	// The same bytes in another file (a copy moved into place): read,
	// found equal, kept.
	flake := filepath.Join(out, "flake.nix")
	if err := os.WriteFile(flake+".copy", treeB["flake.nix"], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(flake+".copy", flake); err != nil {
		t.Fatal(err)
	}
	if wrote, read := gen("b", cache, false); len(wrote) != 0 || read != 1 {
		t.Errorf("after a copy of flake.nix: wrote %v and read %d files; want none written, one read", wrote, read)
	}
	if wrote, read := gen("b", cache, false); len(wrote) != 0 || read != 0 {
		t.Errorf("unchanged again: wrote %v and read %d files, want none", wrote, read)
	}

	// Without a cache, every generated file is read to be compared.
	if wrote, read := gen("a", "", false); !slices.Equal(wrote, differ) || read != int64(len(treeA)) {
		t.Errorf("without a cache: wrote %v and read %d files; want %v written, all %d read", wrote, read, differ, len(treeA))
	}
	checkWhole(t, dir, treeA)
}

// TestGenerateProblemsLeaveTree checks that problems found as the files
// are staged (a file without the header where one goes) and once they
// all are (CUE sources in the tree) are reported together, sorted, and
// that the old tree stays as it was with nothing left beside it, though
// the changed host modules were staged.
func TestGenerateProblemsLeaveTree(t *testing.T) {
	dir, a, b, treeA, _ := twoFleets(t, 1)
	if _, err := a[0].Generate(GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "nix")
	extra := map[string][]byte{"notes.cue": []byte("package notes\n"), "hosts/h1.nix": []byte("{ }\n")}
	for p, data := range extra {
		if err := os.WriteFile(filepath.Join(out, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{}
	for p, data := range treeA {
		want[p] = data
	}
	for p, data := range extra {
		want[p] = data
	}
	_, err := b[0].Generate(GenerateOptions{})
	var got []string
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Generate: %v, want the tree's problems", err)
	}
	for _, d := range errs {
		rel, _ := filepath.Rel(dir, d.Pos.File)
		got = append(got, rel+": "+d.Summary)
	}
	wantErrs := []string{
		"nix: the output directory holds the fleet's own files (CUE sources, cue.mod or .git)",
		"nix/hosts/h1.nix: not written by fleetgen (its first line is not the generated header), where fleetgen writes",
	}
	if !slices.Equal(got, wantErrs) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
	if tree := readTree(t, out); !sameTree(tree, want) {
		t.Errorf("the old tree changed")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".nix.new*"))
	if len(left) > 0 {
		t.Errorf("left beside the tree: %v", left)
	}
}

// TestGenerateManifestEditDuringRun checks that a file changed while a
// run looks at the tree (after the run found it equal, before it records
// the manifest) is not recorded as the run saw it: the next run reads it
// and puts it right.
func TestGenerateManifestEditDuringRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the manifest is used where files have inodes and change times the kernel sets (Linux)")
	}
	dir, a, _, treeA, _ := twoFleets(t, 1)
	if _, err := a[0].Generate(GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "fleet.cue"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, CacheDir: filepath.Join(t.TempDir(), "cache"),
		Overlay: map[string][]byte{filepath.Join(dir, "fleet.cue"): bytes.ReplaceAll(src, []byte("by-label/b"), []byte("by-label/a"))}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "nix")
	// A run that finds every file equal (it reads them: the cache is
	// new), during which hosts/h0.nix is edited by hand, its size and
	// modification time kept.
	s := newTreeSink(out, false, f.l.Cache())
	for rel, data := range treeA {
		if err := s.put(rel, data); err != nil {
			t.Fatal(err)
		}
	}
	host := filepath.Join(out, "hosts", "h0.nix")
	editKeepingTimes(t, host, "by-label/a", "by-label/X")
	res, err := s.finish()
	if err != nil || res.Stale() {
		t.Fatalf("the run that saw the tree unchanged: %v, %v", res, err)
	}
	res, err = f.Generate(GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Written, []string{host}) {
		t.Errorf("the next run wrote %v, want %s", res.Written, host)
	}
	checkWhole(t, dir, treeA)
}

// editKeepingTimes replaces old by new (of the same length) in the file
// path, as a user can, and puts its modification time back.
func editKeepingTimes(t *testing.T, path, old, new string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte(old), []byte(new), 1)
	if len(old) != len(new) || bytes.Equal(edited, b) {
		t.Fatalf("editKeepingTimes: %q is not in %s or %q is not as long", old, path, new)
	}
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateNoOpTouchesNothing checks that a run that changes nothing
// changes nothing on disk: not the module root (where a staging directory
// would be made and removed), not the output tree nor any of its
// directories or files, with the cache and without (when every file is
// compared with the old one).
func TestGenerateNoOpTouchesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("change times are compared where the kernel sets them (Linux)")
	}
	for _, withCache := range []bool{true, false} {
		t.Run(fmt.Sprint("cache=", withCache), func(t *testing.T) {
			dir, _, _, treeA, _ := twoFleets(t, 1)
			cache := ""
			if withCache {
				cache = filepath.Join(t.TempDir(), "cache")
			}
			gen := func() []string {
				t.Helper()
				f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, CacheDir: cache})
				if err != nil {
					t.Fatal(err)
				}
				res, err := f.Generate(GenerateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return res.Written
			}
			// stats returns the identity and times of the module root and
			// of everything under it.
			stats := func() map[string]fileStat {
				t.Helper()
				m := map[string]fileStat{}
				err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					fi, err := d.Info()
					if err != nil {
						return err
					}
					m[p] = statOf(fi)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			if wrote := gen(); len(wrote) != len(treeA) {
				t.Fatalf("the first run wrote %d files, want %d", len(wrote), len(treeA))
			}
			gen() // records the manifest of the tree as it is
			before := stats()
			// Past the file system's clock tick, so that a change would show.
			time.Sleep(20 * time.Millisecond)
			if wrote := gen(); len(wrote) != 0 {
				t.Fatalf("a run that changes nothing wrote %v", wrote)
			}
			after := stats()
			if _, ok := before[filepath.Join(dir, "nix", "flake.nix")]; !ok {
				t.Fatal("no tree was generated: the test proves nothing")
			}
			for p, st := range before {
				if now, ok := after[p]; !ok || now != st {
					t.Errorf("%s changed (%+v, was %+v)", p, now, st)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("%s was made", p)
				}
			}
		})
	}
}

// TestCompareGenerated checks the comparison of a generated file with
// the old tree's file, which reads the old one through a fixed buffer:
// equal files, files that differ at their end, beyond the buffer, in
// size only, and files without the generated header.
func TestCompareGenerated(t *testing.T) {
	dir := t.TempDir()
	big := []byte(emit.Header + "\n" + strings.Repeat("{ x = 1; }\n", 20000)) // over 3 buffers
	changed := func(b []byte, i int) []byte {
		c := slices.Clone(b)
		c[i] ^= 1
		return c
	}
	crlf := []byte(emit.Header + "\r\n{ }\n")
	for i, c := range []struct {
		old, data  []byte
		same, ours bool
	}{
		{big, big, true, true},
		{big, changed(big, len(big)-1), false, true},
		{big, changed(big, 70000), false, true},
		{big, changed(big, 65536), false, true},
		{big, big[:len(big)-1], false, true},
		{big[:len(big)-1], big, false, true},
		{big[:65536], big[:65536], true, true},
		{crlf, crlf, true, true},
		{[]byte(emit.Header), []byte(emit.Header), true, true},
		{[]byte("# mine\n{ }\n"), []byte("# mine\n{ }\n"), false, false},
		{[]byte(strings.Repeat("#", 70000) + "\n"), big, false, false},
		{[]byte{}, []byte{}, false, false},
	} {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, c.old, 0o644); err != nil {
			t.Fatal(err)
		}
		same, ours, st, err := compareGenerated(p, c.data)
		if err != nil || same != c.same || ours != c.ours || ours && st.size != int64(len(c.old)) {
			t.Errorf("case %d: same %v, ours %v, %+v, %v; want %v, %v", i, same, ours, st, err, c.same, c.ours)
		}
	}
	if _, _, _, err := compareGenerated(filepath.Join(dir, "none"), nil); err == nil {
		t.Error("no error for a missing file")
	}
}
