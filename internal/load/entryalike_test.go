package load

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"

	"fleetnix.dev/fleet/schema"
)

// referenceHost returns the body of the reference fleet's host name
// (written `\tname: {` ... `\t}` in hosts.cue), dedented once.
func referenceHost(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile("../../hosts.cue")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if l != "\t"+name+": {" {
			continue
		}
		var body []string
		for _, b := range lines[i+1:] {
			if b == "\t}" {
				return strings.Join(body, "\n") + "\n"
			}
			body = append(body, strings.TrimPrefix(b, "\t"))
		}
	}
	t.Fatalf("no host %s in hosts.cue", name)
	return ""
}

// clonesDir writes the reference fleet with the files extra added (by
// name) to a new directory.
func clonesDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	names, err := filepath.Glob("../../*.cue")
	if err != nil || len(names) == 0 {
		t.Fatal("no files", err)
	}
	files := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = string(b)
	}
	mod, err := os.ReadFile("../../cue.mod/module.cue")
	if err != nil {
		t.Fatal(err)
	}
	files["cue.mod/module.cue"] = string(mod)
	for n, s := range extra {
		files[n] = s
	}
	for n, s := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// clone writes host name as a copy of the reference host ref, its body
// edited by edit (old, new pairs), after the doc comment doc.
func clone(t *testing.T, ref, name, doc string, edit ...string) string {
	body := referenceHost(t, ref)
	for i := 0; i+1 < len(edit); i += 2 {
		if !strings.Contains(body, edit[i]) {
			t.Fatalf("host %s has no %q", ref, edit[i])
		}
		body = strings.Replace(body, edit[i], edit[i+1], 1)
	}
	return doc + "hosts: \"" + name + "\": {\n" + body + "}\n"
}

// TestEntriesAlike checks that a load sharing the evaluation of entries
// written alike but for their names gives exactly what one evaluating
// each entry gives (and what evaluating the package whole gives), with
// every position, doc comment, reference and error: for the reference
// fleet and the examples, and for fleets of clones of the reference
// hosts at other lines and in other files, with labels of other lengths,
// doc comments (one naming its host), a body holding its own host's
// name, a template written twice alike, a context binding the label
// (where nothing may be shared), bad values and a bad name. It checks
// too that the clones were shared where they may be, and not where they
// may not.
func TestEntriesAlike(t *testing.T) {
	defer func() { shareAlike, wholePackage = true, false }()
	p510 := func(name, doc string, edit ...string) string { return clone(t, "p510", name, doc, edit...) }
	razer := func(name, doc string, edit ...string) string { return clone(t, "razer", name, doc, edit...) }
	clones := "package fleet\n\n" +
		p510("p510-01", "") + "\n" +
		razer("razer-1", "// A laptop.\n") +
		p510("p510-02", "") +
		razer("razer-2", "// A laptop.\n") +
		razer("razer-3", "// razer-3 is a laptop.\n") +
		p510("p510-003", "") +
		p510("p510-004", "") +
		p510("p510-05", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-05.home.freundcloud.com"`) +
		p510("p510-06", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-05.home.freundcloud.com"`) +
		p510("p510-07", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-05.home.freundcloud.com"`) +
		"templates: tpl1: {stateVersion: \"25.05\"\n\tusers: olafkfreund: {}\n}\n" +
		"templates: tpl2: {stateVersion: \"25.05\"\n\tusers: olafkfreund: {}\n}\n"
	more := "package fleet\n\n// Clones in another file.\n\n" +
		p510("p510-08", "") +
		"\n\n" + razer("razer-4", "// A laptop.\n") +
		p510("p510-09", "")
	binds := "package fleet\n\n{hosts: [N=string]: nixos: environment: etc: motd: text: N}\n"
	bad := "package fleet\n\n" +
		p510("p510-10", "", `stateVersion:    "25.05"`, `stateVersion:    25`) +
		p510("p510-11", "", `stateVersion:    "25.05"`, `stateVersion:    25`)
	badName := "package fleet\n\n" + p510("P510-12", "")
	for _, tc := range []struct {
		name   string
		dir    string
		errors bool
		// shared says whether some entry must be made from another's.
		shared bool
	}{
		{"reference", "../..", false, false},
		{"minimal", "../../examples/minimal", false, false},
		{"homelab", "../../examples/homelab", false, false},
		{"clones", clonesDir(t, map[string]string{"clones.cue": clones, "more.cue": more}), false, true},
		{"clones and a context binding the label", clonesDir(t, map[string]string{"clones.cue": clones, "binds.cue": binds}), false, false},
		{"clones with errors", clonesDir(t, map[string]string{"clones.cue": clones, "bad.cue": bad}), true, false},
		{"clones and a bad name", clonesDir(t, map[string]string{"clones.cue": clones, "bad.cue": badName}), true, true},
	} {
		wholePackage = true
		want := loadDump(t, tc.dir, "", nil)
		wholePackage = false
		if tc.errors != strings.HasPrefix(want, "errors:") {
			t.Fatalf("%s: errors = %v, want %v:\n%.3000s", tc.name, !tc.errors, tc.errors, want)
		}
		shareAlike = false
		before := madeAlikeCount.Load()
		unshared := loadDump(t, tc.dir, "", nil)
		if n := madeAlikeCount.Load() - before; n != 0 {
			t.Fatalf("%s: %d entries shared with sharing off", tc.name, n)
		}
		shareAlike = true
		for _, cacheDir := range []string{"", t.TempDir()} {
			before := madeAlikeCount.Load()
			got := loadDump(t, tc.dir, cacheDir, nil)
			made := madeAlikeCount.Load() - before
			if tc.shared != (made > 0) {
				t.Errorf("%s (cache %v): %d entries made from another's", tc.name, cacheDir != "", made)
			}
			if diff := cmp.Diff(unshared, got); diff != "" {
				t.Errorf("%s (cache %v): shared differs from unshared (-unshared +shared):\n%s", tc.name, cacheDir != "", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (cache %v): shared differs from the package whole (-whole +shared):\n%s", tc.name, cacheDir != "", diff)
			}
		}
	}
}

// TestEntriesAlikeEntries checks the shared entries themselves, field by
// field, against those evaluated one by one: which entries are made from
// another's (the clones of a class but its first; not one whose doc
// comment or body names it, nor one with a label of another length
// alone), and that each equals its evaluation (positions, doc, refs,
// fixed paths, tree and sources).
func TestEntriesAlikeEntries(t *testing.T) {
	defer func() { shareAlike = true }()
	p510 := func(name, doc string, edit ...string) string { return clone(t, "p510", name, doc, edit...) }
	src := "package fleet\n\n" +
		p510("p510-01", "// A clone.\n") +
		p510("p510-02", "// A clone.\n") +
		"\n" + p510("p510-03", "// A clone.\n") +
		p510("p510-04", "// p510-04 is a clone.\n") +
		p510("p510-005", "// A clone.\n") +
		p510("p510-06", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-06.home.freundcloud.com"`) +
		p510("p510-07", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-06.home.freundcloud.com"`) +
		p510("p510-08", "", `targetHost: "p510.home.freundcloud.com"`, `targetHost: "p510-06.home.freundcloud.com"`) +
		"templates: \"tpl-1\": {stateVersion: \"25.05\"\n\tfixed: stateVersion: true\n}\n" +
		"templates: \"tpl-2\": {stateVersion: \"25.05\"\n\tfixed: stateVersion: true\n}\n"
	dir := clonesDir(t, map[string]string{"clones.cue": src})
	read := func() map[entryID]*entry {
		t.Helper()
		before := madeAlikeCount.Load()
		f, d := Load(t.Context(), &Config{Dir: dir, Schema: schema.FS, NixOS: true})
		if f == nil {
			t.Fatalf("errors: %v", d)
		}
		if shareAlike && madeAlikeCount.Load() == before {
			t.Fatal("nothing shared")
		}
		return entriesOf(f.layers)
	}
	shareAlike = false
	one := read()
	shareAlike = true
	before := madeAlikeCount.Load()
	shared := read()
	// p510-02 and -03 from -01, -08 from -07, tpl-2 from tpl-1.
	if made := madeAlikeCount.Load() - before; made != 4 {
		t.Errorf("%d entries made from another's, want 4", made)
	}
	if len(one) != len(shared) {
		t.Fatalf("%d entries shared, %d one by one", len(shared), len(one))
	}
	for id, e := range one {
		s := shared[id]
		if s == nil {
			t.Errorf("%v: missing", id)
			continue
		}
		if diff := cmp.Diff(entryText(t, e), entryText(t, s)); diff != "" {
			t.Errorf("%v: shared differs (-one by one +shared):\n%s", id, diff)
		}
	}
}

// entryText writes out what an entry holds.
func entryText(t *testing.T, e *entry) string {
	t.Helper()
	var b strings.Builder
	parts, ok := encodeEntry(e, nil)
	if !ok {
		t.Fatal("not encoded")
	}
	b.Write(parts[1])
	fmt.Fprintf(&b, "\nstart %v\n", e.start)
	tree := e.tree
	if tree == nil && e.enc != nil {
		tree = newLayers().use(e)
	}
	if tree == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "source %v\n", tree.Source())
	dumpTree(&b, tree.Root(), nil)
	return b.String()
}

// TestEntriesAlikeEdit checks the edit loop on a fleet of clones: kept,
// each clone is read from the cache under its own key (nothing
// evaluated); an edit of one clone evaluates it alone, and it leaves its
// class (its entry is its own); undone, nothing is evaluated; two clones
// edited alike are evaluated once. Each load gives what evaluating the
// package whole gives.
func TestEntriesAlikeEdit(t *testing.T) {
	defer func() { wholePackage = false }()
	p510 := func(name string, edit ...string) string { return clone(t, "p510", name, "", edit...) }
	body := func(edited ...string) string {
		src := "package fleet\n\n"
		for _, n := range []string{"p510-01", "p510-02", "p510-03", "p510-04"} {
			if slices.Contains(edited, n) {
				src += p510(n, `stateVersion:    "25.05"`, `stateVersion:    "24.11"`)
			} else {
				src += p510(n)
			}
		}
		return src
	}
	dir := clonesDir(t, map[string]string{"clones.cue": body()})
	cache := t.TempDir()
	for _, step := range []struct {
		what            string
		overlay         map[string]string
		evaluated, made int64
	}{
		{"cold", nil, -1, 3},
		{"warm", nil, 0, 0},
		{"one clone edited", map[string]string{"clones.cue": body("p510-02")}, 1, 0},
		{"undone", nil, 0, 0},
		{"two clones edited alike", map[string]string{"clones.cue": body("p510-01", "p510-04")}, 1, 1},
		{"the first and one more", map[string]string{"clones.cue": body("p510-01", "p510-02")}, 0, 0},
	} {
		wholePackage = true
		want := loadDump(t, dir, "", step.overlay)
		wholePackage = false
		e0, m0 := evaluatedCount.Load(), madeAlikeCount.Load()
		got := loadDump(t, dir, cache, step.overlay)
		evaluated, made := evaluatedCount.Load()-e0, madeAlikeCount.Load()-m0
		if step.evaluated >= 0 && evaluated != step.evaluated || made != step.made {
			t.Errorf("%s: %d entries evaluated and %d made from another's, want %d and %d", step.what, evaluated, made, step.evaluated, step.made)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: differs from the package whole (-whole +entries):\n%s", step.what, diff)
		}
	}
}

// TestFleetNeutral checks what sharing assumes of the schema's #Fleet
// (see schemaNeutral): the embedded schema's gives each kind one pattern
// binding no label; one binding a host's name, testing it, or adding a
// field by name does not pass.
func TestFleetNeutral(t *testing.T) {
	src, err := fs.ReadFile(schema.FS, "fleet.cue")
	if err != nil {
		t.Fatal(err)
	}
	const hosts = "hosts?: [#HostName]: #HostSpec"
	if !bytes.Contains(src, []byte(hosts)) {
		t.Fatalf("fleet.cue has no %q", hosts)
	}
	for _, tc := range []struct {
		hosts   string
		neutral bool
	}{
		{hosts, true},
		{"hosts?: [N=#HostName]: #HostSpec & {description: N}", false},
		{"hosts?: [=~\"^web\"]: #HostSpec", false},
		{"hosts?: {[#HostName]: #HostSpec}", true},
		{"hosts?: [#HostName]: #HostSpec\n\thosts?: web: {}", false},
		{"hosts?: [#HostName]: #HostSpec\n\thosts?: web: description: \"web\"", false},
		{"hosts?: [#HostName]: #HostSpec\n\tfor n, _ in hosts {hosts: (n): description: n}", false},
		{"N=hosts?: [#HostName]: #HostSpec", false},
	} {
		f, err := parser.ParseFile("fleet.cue", bytes.Replace(src, []byte(hosts), []byte(tc.hosts), 1), parser.ParseComments)
		if err != nil {
			t.Fatalf("%s: %v", tc.hosts, err)
		}
		found := false
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.Field); ok {
				if n, _, _ := ast.LabelName(fd.Label); n == "#Fleet" {
					found = true
					if got := fleetNeutral(fd); got != tc.neutral {
						t.Errorf("%s: neutral %v, want %v", tc.hosts, got, tc.neutral)
					}
				}
			}
		}
		if !found {
			t.Fatal("no #Fleet")
		}
	}
}
