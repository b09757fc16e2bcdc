package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"

	"fleetnix.dev/fleet/internal/emit"
)

// A stringSlot is a place of the fleet that holds a string: a root
// ("hosts.web") and a path below it, where "*" is a key of a pattern
// constraint (any name) and "[]" a list element.
type stringSlot struct {
	root string
	path []string
	// enables are the paths, below root, of the enable fields of the
	// structs on the way, which are set so the string is used.
	enables [][]string
	// keyValue, when set, makes the slot a name: the string is the last
	// "*" of path, and keyValue (CUE) its value.
	keyValue string
}

// fuzzSlots are the string slots of the schema, found once.
var fuzzSlots = sync.OnceValues(func() ([]stringSlot, error) {
	_, v, err := compileSchema()
	if err != nil {
		return nil, err
	}
	var out []stringSlot
	for _, r := range []struct{ def, root string }{
		{"#Settings", "settings"}, {"#Secret", "secrets.db"}, {"#UserSpec", "users.alice"},
		{"#Profile", "profiles.dev"}, {"#Template", "templates.base"}, {"#HostSpec", "hosts.web"},
	} {
		def := v.LookupPath(cue.ParsePath(r.def))
		if !def.Exists() {
			return nil, fmt.Errorf("the schema has no %s", r.def)
		}
		walkStrings(def, r.root, nil, nil, map[string]bool{}, &out)
	}
	return out, nil
})

// walkStrings adds the string slots of v, at path below root, to out.
func walkStrings(v cue.Value, root string, path []string, enables [][]string, seen map[string]bool, out *[]stringSlot) {
	if len(path) > 9 {
		return
	}
	key := root + "." + strings.Join(path, ".")
	if seen[key] {
		return
	}
	seen[key] = true
	k := v.IncompleteKind()
	if k&cue.StringKind != 0 {
		*out = append(*out, stringSlot{root: root, path: slices.Clone(path), enables: enables})
	}
	if k&cue.ListKind != 0 {
		if e := v.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() {
			walkStrings(e, root, append(slices.Clone(path), "[]"), enables, seen, out)
		}
	}
	if k&cue.StructKind == 0 {
		return
	}
	it, err := v.Fields(cue.Optional(true), cue.Patterns(true))
	if err != nil {
		return
	}
	type field struct {
		name string
		v    cue.Value
	}
	var fields []field
	hasEnable := false
	for it.Next() {
		var name string
		switch sel := it.Selector(); {
		case sel.ConstraintType() == cue.PatternConstraint:
			name = "*"
		case sel.LabelType() != cue.StringLabel:
			continue
		default:
			name = sel.Unquoted()
		}
		if strings.HasPrefix(name, "$") {
			continue // markers: their strings are slots of their own
		}
		hasEnable = hasEnable || name == "enable" && it.Value().IncompleteKind()&cue.BoolKind != 0
		fields = append(fields, field{name, it.Value()})
	}
	if hasEnable {
		enables = append(slices.Clone(enables), append(slices.Clone(path), "enable"))
	}
	for _, f := range fields {
		p := append(slices.Clone(path), f.name)
		if f.name == "*" {
			// The name is a slot of its own, with a value of its kind.
			kv := ""
			switch k := f.v.IncompleteKind(); {
			case k&cue.BoolKind != 0:
				kv = "true"
			case k&cue.StructKind != 0:
				kv = "{}"
			case k&cue.IntKind != 0:
				kv = "1"
			case k&cue.StringKind != 0:
				kv = `"x"`
			}
			if kv != "" && !seen[key+".*="] {
				seen[key+".*="] = true
				*out = append(*out, stringSlot{root: root, path: p, enables: enables, keyValue: kv})
			}
		}
		walkStrings(f.v, root, p, enables, seen, out)
	}
}

// pipelineBase is the fleet every FuzzPipeline input starts from: one
// host of a template, one user with a profile, one secret in use.
const pipelineBase = `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

secrets: db: {}
users: alice: {groups: wheel: true}
profiles: dev: {}
templates: base: {}
hosts: web: {
	template:     "base"
	stateVersion: "25.05"
	deploy: targetHost: "web.example.test"
	hardware: fileSystems: "/": {device: "/dev/disk/by-label/nixos", fsType: "ext4"}
	users: alice: profiles: ["dev"]
	nixos: services: x: passwordFile: {$secret: "db"}
}
`

// fuzzString returns s as a CUE string literal; raw writes s between
// quotes as it is, so the CUE scanner meets every byte of it.
func fuzzString(s string, raw bool) string {
	if raw {
		return `"` + s + `"`
	}
	b, err := format.Node(ast.NewString(s))
	if err != nil {
		return `""`
	}
	return string(b)
}

// slotSource returns CUE that puts value at the slot, k standing for any
// name the slot's path leaves open; at a name slot, value is the name.
func slotSource(sl stringSlot, k, value string, raw bool) string {
	path, lit, keyAt := sl.path, fuzzString(value, raw), -1
	if sl.keyValue != "" {
		keyAt, lit = len(path)-1, sl.keyValue
	}
	name := func(i int, e string) string {
		switch {
		case i == keyAt:
			return fuzzString(value, raw)
		case e == "*":
			return fuzzString(k, raw)
		}
		return fuzzString(e, false)
	}
	labels := func(p []string) string {
		var b strings.Builder
		for _, e := range strings.Split(sl.root, ".") {
			b.WriteString(e + ": ")
		}
		for i, e := range p {
			b.WriteString(name(i, e) + ": ")
		}
		return b.String()
	}
	var src strings.Builder
	for _, en := range sl.enables {
		if !slices.Contains(en, "[]") {
			src.WriteString(labels(en) + "true\n")
		}
	}
	i := slices.Index(path, "[]")
	if i < 0 {
		src.WriteString(labels(path) + lit + "\n")
		return src.String()
	}
	// A list element: the rest of the path is inside the list.
	inner := lit
	for j := len(path) - 1; j > i; j-- {
		if path[j] == "[]" {
			inner = "[" + inner + "]"
		} else {
			inner = "{" + name(j, path[j]) + ": " + inner + "}"
		}
	}
	src.WriteString(labels(path[:i]) + "[" + inner + "]\n")
	return src.String()
}

// pipelineDir makes the fuzz pipeline's fleet directory (a CUE module
// without files: the fleet comes in an overlay) in tb's temporary
// directory, removed when tb ends.
func pipelineDir(tb testing.TB) string {
	dir := tb.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cue.mod"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cue.mod", "module.cue"), []byte("module: \"example.test/fleet@v0\"\nlanguage: version: \"v0.17.0\"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// FuzzPipeline runs the whole of fleetgen short of writing: a fleet with
// a hostile string s in one string-typed field of the schema (any field
// of settings, a secret, a user, a profile, a template or a host; slot
// picks which, by the schema's own walk) and k as the name of any entry
// the field's path leaves open, is loaded, checked and generated. Load
// must not panic and must place every error in the user's files; a fleet
// that loads must generate (what gen rejects, vet must have), and every
// file must pass the emitter's round-trip check. With raw set the string
// goes into the CUE source unquoted, so CUE's own scanner meets its
// bytes.
func FuzzPipeline(f *testing.F) {
	for i, s := range []string{"x", "ops\r]; injected = builtins.readFile /etc/hostname; x = [ #",
		"a.age + builtins.trace \"INJECTED\" ./b.age", "${builtins.currentTime}", "\x00", "\xff", "''${x}",
		"\u202e", "a\r\nb", "../x", "/dev/sda", "hunter22hunter", "\\(1)", "\"", "*/"} {
		f.Add(s, "k", uint16(i*7), false)
		f.Add(s, s, uint16(i*13+1), i%2 == 0)
	}
	slots, err := fuzzSlots()
	if err != nil {
		f.Fatal(err)
	}
	dir := pipelineDir(f)
	f.Fuzz(func(t *testing.T, s, k string, slot uint16, raw bool) {
		if len(s)+len(k) > 1024 {
			t.Skip()
		}
		sl := slots[int(slot)%len(slots)]
		src := pipelineBase + slotSource(sl, k, s, raw)
		fl, err := Load(context.Background(), &Config{Dir: dir, NixOS: true,
			Overlay: map[string][]byte{filepath.Join(dir, "fleet.cue"): []byte(src)}})
		if err != nil {
			var l Errors
			if !errors.As(err, &l) {
				t.Fatalf("Load failed with %T, not Errors: %v\n%s", err, err, src)
			}
			for _, d := range l {
				if d.Pos.File != filepath.Join(dir, "fleet.cue") || d.Pos.Line == 0 {
					t.Fatalf("an error not at the user's line: %s: %s\n%s", d.Pos, d.Summary, src)
				}
			}
			return
		}
		if _, _, err := fl.files(""); err != nil {
			if errors.Is(err, emit.ErrRoundTrip) {
				t.Fatalf("round trip failed: %v\n%s", err, src)
			}
			t.Fatalf("vet accepted what gen rejects: %v\n%s", err, src)
		}
	})
}

// hardwareBase is the rest of the fleet FuzzImportHardware puts an
// imported host into. Its hardware profile gives what NixOS requires and
// an import may not find (a root file system, a boot loader); whatever
// the import sets overrides it.
const hardwareBase = `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet

hardware: base: {
	boot: loader: "none"
	fileSystems: "/": {device: "/dev/disk/by-label/nixos", fsType: "ext4"}
}

hosts: web: {
	hardwareProfile: "base"
	stateVersion: "25.05"
	deploy: targetHost: "web.example.test"
}
`

// FuzzImportHardware feeds `fleetgen import hardware` hostile input, as a
// hardware-configuration.nix or as a nixos-facter report (facter): it
// must not panic, and either refuses the input with diagnostics at the
// input's lines or writes CUE that loads, with the host around it, as a
// fleet vet accepts and gen generates.
func FuzzImportHardware(f *testing.F) {
	for _, glob := range []string{"../internal/hwimport/testdata/nix/*/*.nix", "../internal/hwimport/testdata/bad/*.nix",
		"../internal/hwimport/testdata/odd/*.nix", "../internal/hwimport/testdata/facter/*.json"} {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds at %s", glob)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, strings.HasSuffix(file, ".json"))
		}
	}
	dir := pipelineDir(f)
	f.Fuzz(func(t *testing.T, src []byte, facter bool) {
		if len(src) > 64<<10 {
			t.Skip()
		}
		in := HardwareInput{Host: "web"}
		if facter {
			in.Facter = &HardwareSource{File: "facter.json", Src: src}
		} else {
			in.Nix = &HardwareSource{File: "hardware-configuration.nix", Src: src}
		}
		imp, err := ImportHardware(in)
		if err != nil {
			var l Errors
			if !errors.As(err, &l) {
				t.Fatalf("ImportHardware failed with %T, not Errors: %v", err, err)
			}
			for _, d := range l {
				if d.Pos.File != in.sourceFile() || d.Pos.Line == 0 {
					t.Fatalf("an error not at a line of the input: %s: %s", d.Pos, d.Summary)
				}
			}
			return
		}
		overlay := map[string][]byte{
			filepath.Join(dir, "fleet.cue"):    []byte(hardwareBase),
			filepath.Join(dir, "hardware.cue"): imp.CUE,
		}
		if bytes.Contains(imp.CUE, []byte(nameGRUBDisk)) {
			// The import could not tell which disk GRUB goes to and says
			// so; the user names one, as its comment asks.
			overlay[filepath.Join(dir, "disk.cue")] = []byte("package fleet\n\nhosts: web: hardware: boot: grub: devices: \"/dev/sda\": true\n")
		}
		fl, err := Load(context.Background(), &Config{Dir: dir, NixOS: true, Overlay: overlay})
		if err != nil {
			var b strings.Builder
			PrintErrors(&b, dir, err)
			t.Fatalf("the imported CUE does not vet:\n%s\n%s", b.String(), imp.CUE)
		}
		if _, _, err := fl.files(""); err != nil {
			t.Fatalf("the imported host does not generate: %v\n%s", err, imp.CUE)
		}
	})
}

// nameGRUBDisk is how an imported file asks the user to name GRUB's disk.
const nameGRUBDisk = "Name the disk GRUB is installed to under grub.devices"

// sourceFile names the file of the input, as diagnostics do.
func (in HardwareInput) sourceFile() string {
	if in.Facter != nil {
		return in.Facter.File
	}
	return in.Nix.File
}

// TestFuzzSlots checks that the schema's walk gives FuzzPipeline the
// fields it must reach: strings of every kind of entry, names of keyed
// collections, list elements and free-form nixos.
func TestFuzzSlots(t *testing.T) {
	slots, err := fuzzSlots()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range slots {
		name := s.root + " " + strings.Join(s.path, ".")
		if s.keyValue != "" {
			name += " (name)"
		}
		have[name] = true
	}
	for _, want := range []string{
		"settings secretsDir", "settings adminKeys.* (name)", "settings inputs.*.url", "secrets.db file",
		"users.alice description", "users.alice sshKeys.* (name)", "profiles.dev home.git.userName",
		"hosts.web deploy.targetHost", "hosts.web nixos.*", "hosts.web nixos.* (name)",
		"hosts.web hardware.fileSystems.*.device", "hosts.web disks.*.partitions.*.filesystem.extraArgs.[]",
		"templates.base deploy.builder",
	} {
		if !have[want] {
			t.Errorf("the schema walk misses %s", want)
		}
	}
	if len(slots) < 200 {
		t.Errorf("the schema walk found %d string slots, fewer than expected", len(slots))
	}
}
