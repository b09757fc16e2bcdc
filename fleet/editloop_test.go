package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// editRun loads the reference fleet with the overlay and the cache in
// cacheDir, and returns its generated files by path, the hosts the load
// merged (and unified), those the load and the generation merged in all
// (a host's tree is merged for its source map), and how many hosts the
// load checked.
func editRun(t *testing.T, cacheDir string, overlay map[string][]byte) (files map[string]string, loaded, merged []string, checked int) {
	t.Helper()
	f, err := Load(context.Background(), &Config{Dir: referenceFleet, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
	if err != nil {
		t.Fatal(err)
	}
	loaded = f.l.Merged()
	if _, err := f.VetNixOS(); err != nil {
		t.Fatal(err)
	}
	generated, _, err := f.files("")
	if err != nil {
		t.Fatal(err)
	}
	files = map[string]string{}
	for _, file := range generated {
		files[file.Path] = string(file.Data)
	}
	merged = f.l.Merged()
	slices.Sort(loaded)
	slices.Sort(merged)
	return files, slices.Compact(loaded), slices.Compact(merged), f.checked
}

// replaceAfter returns the file name of the reference fleet with the
// first old after anchor replaced by new.
func replaceAfter(t *testing.T, name, anchor, old, new string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(referenceFleet, name))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(src, []byte(anchor))
	if i < 0 {
		t.Fatalf("%s has no %q", name, anchor)
	}
	j := bytes.Index(src[i:], []byte(old))
	if j < 0 {
		t.Fatalf("%s has no %q after %q", name, old, anchor)
	}
	j += i
	return slices.Concat(src[:j], []byte(new), src[j+len(old):])
}

// referenceEdits returns the absolute path of a file of the reference
// fleet, and an overlay that adds the file edit.cue of package fleet with
// src.
func referenceEdits(t *testing.T) (at func(name string) string, newFile func(src string) map[string][]byte) {
	t.Helper()
	root, err := filepath.Abs(referenceFleet)
	if err != nil {
		t.Fatal(err)
	}
	at = func(name string) string { return filepath.Join(root, name) }
	newFile = func(src string) map[string][]byte {
		return map[string][]byte{at("edit.cue"): []byte("package fleet\n\n" + src)}
	}
	return at, newFile
}

// TestEditLoop checks that, with the cache warm, an edit of each kind of
// input a host is made from gives exactly the tree an uncached run gives,
// while a host the edit does not feed is neither merged nor checked
// again: the host's own file, a template, a profile, a hardware profile,
// the settings, a secret, and the host whose facts the others receive
// through the fleet pass (the binary cache, p620). The hosts are p620
// and p510 (template workstation), razer and samsung (laptop, with the
// profile laptop-user; razer on hardware nvidia-optimus) and dex5550
// (server, the monitoring server).
func TestEditLoop(t *testing.T) {
	at, newFile := referenceEdits(t)
	base := t.TempDir()
	cold, loaded, _, checked := editRun(t, base, nil)
	if len(loaded) != 5 || checked != 5 {
		t.Fatalf("a cold run merged %v and checked %d hosts; want all five", loaded, checked)
	}
	// Nothing changed: nothing merged again.
	warm, _, merged, checked := editRun(t, base, nil)
	if diff := cmp.Diff(cold, warm); diff != "" {
		t.Fatalf("a warm run differs from the cold one (-cold +warm):\n%s", diff)
	}
	if len(merged) != 0 || checked != 0 {
		t.Fatalf("a warm run of an unchanged fleet merged %v and checked %d hosts", merged, checked)
	}
	all := []string{"dex5550", "p510", "p620", "razer", "samsung"}
	// Edits inside a file keep its length: a file's contexts (the
	// templates' hidden fields) are part of every entry's key with their
	// places, so moving them would change every host.
	etc := "nixos: environment: etc: \"edit-test\": text: \"edited\"\n"
	for _, tc := range []struct {
		name    string
		overlay map[string][]byte
		// loaded are the hosts the load must merge and unify again, the
		// hosts the edit feeds; it merges no other. untouched are hosts
		// whose files do not change and whose trees no changed host's
		// source map reads: the run does not merge them at all. checked
		// is how many hosts' values the load checks again.
		loaded, untouched []string
		checked           int
	}{
		{"own file", newFile("hosts: samsung: " + etc), []string{"samsung"}, []string{"p510", "razer"}, 1},
		{"template", map[string][]byte{at("templates.cue"): replaceAfter(t, "templates.cue", "laptop: {", `"home.freundcloud.com"`, `"home.freundcloud.net"`)},
			[]string{"razer", "samsung"}, []string{"p510"}, 2},
		{"profile", map[string][]byte{at("profiles.cue"): replaceAfter(t, "profiles.cue", `"laptop-user": {`, "powertop:      true", "powertop:     false")},
			[]string{"razer", "samsung"}, []string{"p510"}, 2},
		{"hardware", map[string][]byte{at("hardware.cue"): replaceAfter(t, "hardware.cue", `"nvidia-optimus": {`, "vaapi:  true", "vaapi:  false")},
			[]string{"razer"}, []string{"p510", "samsung"}, 1},
		// The settings and the secrets feed every host's files, not its
		// value.
		{"settings", newFile("settings: inputs: \"edit-test\": url: \"github:example/edit-test\"\n"), nil, nil, 0},
		{"secret", newFile("secrets: \"edit-test\": {description: \"a secret of the test\", recipients: users: olafkfreund: true}\n"), nil, nil, 0},
		// Every host trusts the binary cache's key: their files change,
		// their values do not.
		{"facts", map[string][]byte{at("hosts.cue"): replaceAfter(t, "hosts.cue", "p620: {", "p620-cache-1:", "p620-cache-2:")},
			[]string{"p620"}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _, _, _ := editRun(t, "", tc.overlay)
			if diff := cmp.Diff(cold, want); diff == "" {
				t.Fatal("the edit changes no generated file: the test proves nothing")
			}
			dir := copyCache(t, base)
			got, loaded, merged, checked := editRun(t, dir, tc.overlay)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("the cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if !slices.Equal(loaded, tc.loaded) {
				t.Errorf("the load merged %v again, want %v (of %v)", loaded, tc.loaded, all)
			}
			for _, h := range tc.untouched {
				if slices.Contains(merged, h) {
					t.Errorf("%s was merged, though the edit changes none of its files (merged: %v)", h, merged)
				}
			}
			if checked != tc.checked {
				t.Errorf("the load checked %d hosts, want %d", checked, tc.checked)
			}
			// Warm again with the edit: nothing merged, nothing checked.
			again, _, merged, checked := editRun(t, dir, tc.overlay)
			if diff := cmp.Diff(want, again); diff != "" {
				t.Fatalf("the second cached run differs from an uncached one (-uncached +cached):\n%s", diff)
			}
			if len(merged) != 0 || checked != 0 {
				t.Errorf("the second run of the edited fleet merged %v and checked %d hosts", merged, checked)
			}
		})
	}
}

// TestEditLoopErrors checks that, with the cache warm, an edit that makes
// one host's values wrong reports exactly what an uncached run reports,
// though the other hosts are not checked again: a secret that is not
// declared, and a marker beside other fields in a layer the host shares
// with another.
func TestEditLoopErrors(t *testing.T) {
	root, err := filepath.Abs(referenceFleet)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	editRun(t, base, nil)
	for _, src := range []string{
		"hosts: samsung: nixos: services: x: password: $secret: \"nosuch\"\n",
		"templates: laptop: nixos: services: y: {$nix: \"pkgs.hello\", other: 1}\n",
	} {
		overlay := map[string][]byte{filepath.Join(root, "edit.cue"): []byte("package fleet\n\n" + src)}
		load := func(cacheDir string) string {
			_, err := Load(context.Background(), &Config{Dir: referenceFleet, NixOS: true, CacheDir: cacheDir, Overlay: overlay})
			if err == nil {
				t.Fatalf("%s: no error", src)
			}
			return err.Error()
		}
		want := load("")
		dir := copyCache(t, base)
		for _, run := range []string{"first", "second"} {
			if diff := cmp.Diff(want, load(dir)); diff != "" {
				t.Errorf("%s, %s cached run: the errors differ from an uncached run's (-uncached +cached):\n%s", src, run, diff)
			}
		}
	}
}

// copyCache returns a copy of the cache directory base, for one run to
// change.
func copyCache(t *testing.T, base string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// indexFiles returns the index files in the cache dir.
func indexFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "??", "index-*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestEditLoopIndex checks the index of small cache entries: a warm run
// takes what it needs of unchanged hosts from it alone (their entries'
// own files removed, nothing is merged or checked again), and an edit
// gives the tree an uncached run gives when the index is there, missing,
// damaged, or an older run's (stale: it holds the entries of before the
// edit, some under the same keys as the edit's).
func TestEditLoopIndex(t *testing.T) {
	at, newFile := referenceEdits(t)
	base := t.TempDir()
	cold, _, _, _ := editRun(t, base, nil)
	editRun(t, base, nil) // the index of a warm run
	if n := len(indexFiles(t, base)); n != 1 {
		t.Fatalf("the cache holds %d indexes, want 1", n)
	}

	t.Run("alone", func(t *testing.T) {
		dir := copyCache(t, base)
		index := indexFiles(t, dir)[0]
		removed := 0
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == index {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if name := d.Name(); info.Size() <= 16<<10 && !strings.HasPrefix(name, "exe-") && !strings.HasPrefix(name, "tree-manifest-") {
				removed++
				return os.Remove(p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Runs keep their small entries in the index alone: count those
		// too.
		files := map[string]bool{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files[d.Name()] = true
			}
			return nil
		})
		indexOnly := 0
		for _, k := range cacheEntries(t, dir, "") {
			if !files[k] {
				indexOnly++
			}
		}
		if removed+indexOnly < 5*5 {
			t.Fatalf("only %d small entries were removed and %d are in the index alone: the test proves nothing", removed, indexOnly)
		}
		got, loaded, merged, checked := editRun(t, dir, nil)
		if diff := cmp.Diff(cold, got); diff != "" {
			t.Fatalf("a run from the index differs from the cold one (-cold +index):\n%s", diff)
		}
		if len(loaded) != 0 || len(merged) != 0 || checked != 0 {
			t.Errorf("a run from the index merged %v (%v in all) and checked %d hosts, want none", loaded, merged, checked)
		}
	})

	overlay := newFile("hosts: samsung: nixos: environment: etc: \"edit-test\": text: \"edited\"\n")
	edited := map[string][]byte{at("templates.cue"): replaceAfter(t, "templates.cue", "laptop: {", `"home.freundcloud.com"`, `"home.freundcloud.net"`)}
	for _, tc := range []struct {
		name string
		// prepare does something to the index of the copy of the warm
		// cache in dir, before the edited run.
		prepare func(t *testing.T, dir string)
	}{
		{"there", func(*testing.T, string) {}},
		{"missing", func(t *testing.T, dir string) {
			for _, p := range indexFiles(t, dir) {
				os.Remove(p)
			}
		}},
		{"damaged", func(t *testing.T, dir string) {
			p := indexFiles(t, dir)[0]
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"stale", func(t *testing.T, dir string) {
			// The index of a run of another edit of the same host and
			// template, then the cache's own index put back: the
			// edited run finds the other edit's entries in files.
			p := indexFiles(t, dir)[0]
			old, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			other := map[string][]byte{at("templates.cue"): replaceAfter(t, "templates.cue", "laptop: {", `"home.freundcloud.com"`, `"home.freundcloud.org"`)}
			for k, v := range newFile("hosts: samsung: nixos: environment: etc: \"edit-test\": text: \"other\"\n") {
				other[k] = v
			}
			editRun(t, dir, other)
			if err := os.WriteFile(p, old, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ov := map[string][]byte{}
			for k, v := range overlay {
				ov[k] = v
			}
			for k, v := range edited {
				ov[k] = v
			}
			want, _, _, _ := editRun(t, "", ov)
			dir := copyCache(t, base)
			tc.prepare(t, dir)
			for _, run := range []string{"first", "second"} {
				got, _, _, _ := editRun(t, dir, ov)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s cached run differs from an uncached one (-uncached +cached):\n%s", run, diff)
				}
			}
		})
	}
}
