package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/emit"
)

// CompareShared loads the fleet in dir and generates it with and without
// sharing the files of hosts alike (see cloneGroup), and fails when a file
// differs, or what VetNixOS reports; it returns how many hosts' files
// were made from their group's.
func CompareShared(t testing.TB, dir string, pkgs ...string) int64 {
	t.Helper()
	f, err := Load(context.Background(), &Config{Dir: dir, Packages: pkgs, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer SetShareClones(true)()
	run := func(share bool) ([]emit.File, string, int64) {
		SetShareClones(share)
		before := Cloned()
		warns, verr := f.VetNixOS()
		files, err := f.GeneratedFiles()
		if err != nil {
			t.Fatal(err)
		}
		return files, fmt.Sprintf("warnings: %v\nerrors: %v", warns, verr), Cloned() - before
	}
	want, wantVet, _ := run(false)
	got, gotVet, n := run(true)
	if gotVet != wantVet {
		t.Errorf("vet shared:\n%s\nvet alone:\n%s", gotVet, wantVet)
	}
	if len(got) != len(want) {
		t.Fatalf("%d files shared, %d alone", len(got), len(want))
	}
	for i := range want {
		if got[i].Path != want[i].Path {
			t.Fatalf("file %d: %s shared, %s alone", i, got[i].Path, want[i].Path)
		}
		if !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("%s differs when shared:\n%s", got[i].Path, firstDiff(got[i].Data, want[i].Data))
		}
	}
	return n
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-200, 0)
	return "shared: ..." + string(a[lo:min(i+200, len(a))]) + "\nalone:  ..." + string(b[lo:min(i+200, len(b))])
}

// TestClonesReference: the reference fleet and the examples generate the
// same files with and without sharing.
func TestClonesReference(t *testing.T) {
	CompareShared(t, "..")
	for _, ex := range []string{"homelab", "minimal"} {
		CompareShared(t, filepath.Join("..", "examples", ex), "./...")
	}
}

// clonesFleet writes a fleet of hosts alike but for their names, and
// hosts whose names make sharing wrong or impossible: a name inside a
// longer string (sda1 in /dev/sda1), a name that is a package's
// (a marker's value), a name that is another's placeholder, a host whose
// value holds the placeholder of its name, names of another length in
// a list the printer wraps at its width (wide and w), hosts with a value
// that is the name, which explains the computed networking.hostName in
// the source map (n), hosts alike whose source maps place their
// hostName differently, because the names of some hold a value all have
// (sub-1 and sub-3, xyz-2 and xyz-4: sub), and a name an option's type
// accepts for one host and not for another alike (networking.hostId
// takes eight hexadecimal digits).
func clonesFleet(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	long := strings.Repeat("wide", 10)
	writeTree(t, dir, vetFleetFiles(`
templates: server: {stateVersion: "25.05", users: alice: {}}

hosts: "web-1": template: "server"
hosts: "web-2": template: "server"
hosts: "web-3": template: "server"
// qzx-9 is the placeholder of web-1's name.
hosts: "qzx-9": template: "server"
hosts: "web-4": {template: "server", nixos: environment: etc: motd: text: "qzx-9"}
hosts: sda1: template: "server"
hosts: sdb1: template: "server"
hosts: sdc1: template: "server"
hosts: hello: {template: "server", nixos: environment: systemPackages: [{$pkg: "hello"}]}
hosts: world: {template: "server", nixos: environment: systemPackages: [{$pkg: "hello"}]}
hosts: there: {template: "server", nixos: environment: systemPackages: [{$pkg: "hello"}]}
hosts: "`+long+`-1": {template: "server", nixos: networking: hosts: "127.0.0.2": ["`+long+`-1", "an-alias-long-enough-to-wrap"]}
hosts: "`+long+`-2": {template: "server", nixos: networking: hosts: "127.0.0.2": ["`+long+`-2", "an-alias-long-enough-to-wrap"]}
hosts: "w-1": {template: "server", nixos: networking: hosts: "127.0.0.2": ["w-1", "an-alias-long-enough-to-wrap"]}
hosts: "w-2": {template: "server", nixos: networking: hosts: "127.0.0.2": ["w-2", "an-alias-long-enough-to-wrap"]}
hosts: "sub-1": {template: "server", nixos: environment: etc: hostname: {text: "sub", name: "sub"}}
hosts: "sub-3": {template: "server", nixos: environment: etc: hostname: {text: "sub", name: "sub"}}
hosts: "xyz-2": {template: "server", nixos: environment: etc: hostname: {text: "sub", name: "sub"}}
hosts: "xyz-4": {template: "server", nixos: environment: etc: hostname: {text: "sub", name: "sub"}}
hosts: "n-1": {template: "server", nixos: environment: etc: motd: text: "n-1"}
hosts: "n-2": {template: "server", nixos: environment: etc: motd: text: "n-2"}
`+extra))
	return dir
}

// TestClonesAdversarial: hosts whose names could make sharing wrong
// generate the same files with and without it, and the hosts alike share.
func TestClonesAdversarial(t *testing.T) {
	dir := clonesFleet(t, "")
	// Shared: web-2 and web-3 (web-1 is made alone, first of its group;
	// web-4 holds the placeholder of its name, qzx-9 is its own), sdc1
	// (sda1 is in /dev/sda1), there (hello's name is a package's), the
	// second of the wide hosts, of the w hosts and of the n hosts, and
	// three of sub-1, sub-3, xyz-2 and xyz-4.
	if n := CompareShared(t, dir); n != 10 {
		t.Errorf("%d hosts shared, want 10", n)
	}
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) string { return cloneKey(f.byName[name]) }
	for _, alone := range []string{"qzx-9", "web-4", "sda1", "hello"} {
		if key(alone) != "" {
			t.Errorf("host %s may share its files", alone)
		}
	}
	long := strings.Repeat("wide", 10)
	for _, same := range [][2]string{{"web-1", "web-3"}, {"sdb1", "sdc1"}, {"world", "there"}, {long + "-1", long + "-2"}, {"w-1", "w-2"}, {"sub-1", "xyz-2"}} {
		if key(same[0]) == "" || key(same[0]) != key(same[1]) {
			t.Errorf("hosts %s and %s are not alike", same[0], same[1])
		}
	}
	for _, other := range [][2]string{{"web-1", "w-1"}, {"w-1", long + "-1"}, {"web-1", "sdb1"}} {
		if key(other[0]) == key(other[1]) {
			t.Errorf("hosts %s and %s are alike", other[0], other[1])
		}
	}
}

// TestClonesVet: VetNixOS reports, with hosts alike checked at once, what
// it reports checking each: an error every host of a group has, and an
// error of one host only, whose name an option's type refuses while it
// accepts its group's others (networking.hostId).
func TestClonesVet(t *testing.T) {
	dir := clonesFleet(t, `
templates: typo: {hardware: {
		fileSystems: "/": {device: "/dev/vda1", fsType: "ext4"}
		fileSystems: "/boot": {device: "/dev/vda2", fsType: "vfat"}
		boot: loader: "systemd-boot"
	}, deploy: {targetHost: "192.0.2.1", targetUser: "root"}, stateVersion: "25.05", nixos: services: opensh: enable: true}
hosts: "typo-1": template: "typo"
hosts: "typo-2": template: "typo"
hosts: "typo-3": template: "typo"
hosts: beef: {template: "server", nixos: disko: devices: disk: main: content: partitions: root: type: "beef"}
hosts: cafe: {template: "server", nixos: disko: devices: disk: main: content: partitions: root: type: "cafe"}
hosts: zzzz: {template: "server", nixos: disko: devices: disk: main: content: partitions: root: type: "zzzz"}
`)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer SetShareClones(true)()
	var out [2]string
	for i, share := range []bool{false, true} {
		SetShareClones(share)
		_, err := f.Generate(GenerateOptions{Check: true})
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("share %v: %v, want the check's errors", share, err)
		}
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "%v\n", e)
		}
		out[i] = b.String()
	}
	if out[0] != out[1] {
		t.Fatalf("shared:\n%s\nalone:\n%s", out[1], out[0])
	}
	for _, want := range []string{"services.opensh: no such option", `hosts.zzzz.nixos.disko.devices.disk.main.content.partitions.root.type: "zzzz" is not`} {
		if !strings.Contains(out[0], want) {
			t.Errorf("no error %q:\n%s", want, out[0])
		}
	}
	for _, host := range []string{"beef", "cafe"} {
		if strings.Contains(out[0], "hosts."+host+".nixos.disko.devices.disk.main.content.partitions.root.type") {
			t.Errorf("an error for %s, whose partition type is right:\n%s", host, out[0])
		}
	}
}

// TestClonesCached: with the generation cache, an edit that changes
// every host of the groups (and then one that changes one host) gives
// the tree an uncached generation without sharing gives.
func TestClonesCached(t *testing.T) {
	dir := clonesFleet(t, "")
	cache := t.TempDir()
	gen := func(out string, cached, share bool) map[string][]byte {
		t.Helper()
		defer SetShareClones(true)()
		SetShareClones(share)
		cfg := &Config{Dir: dir, NixOS: true}
		if cached {
			cfg.CacheDir = cache
		}
		f, err := Load(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Generate(GenerateOptions{OutDir: out}); err != nil {
			t.Fatal(err)
		}
		return readTree(t, filepath.Join(dir, out))
	}
	gen("nix", true, true)
	for i, edit := range []string{
		`templates: server: nixos: environment: etc: edit: text: "every host"`,
		`hosts: "web-2": nixos: environment: etc: edit: text: "one host"`,
	} {
		writeTree(t, dir, map[string]string{fmt.Sprintf("edit%d.cue", i): "package fleet\n\n" + edit + "\n"})
		before := Cloned()
		got := gen("nix", true, true)
		if i == 0 && Cloned() == before {
			t.Error("no host shared its group's files after an edit of their template")
		}
		want := gen("alone", false, false)
		if !sameTree(got, want) {
			for p := range want {
				if !bytes.Equal(got[p], want[p]) {
					t.Errorf("edit %d: %s differs from an uncached run's:\n%s", i, p, firstDiff(got[p], want[p]))
				}
			}
			t.Fatalf("edit %d: the cached tree has %d files, an uncached run's %d", i, len(got), len(want))
		}
	}
}

// TestClonesOrigins: the origins of hosts alike located in the tree of
// their class's lead (classSources), or made from another member's
// (relocated), are those each host's own tree gives, in a fleet whose
// hosts alike differ in where they are declared: members at other lines
// and columns, in another file, split over two files; a member that
// sets in its own entry a value its template sets (the same value, so
// that it shares its group's files, and its origin is its own line); a
// member whose own hardware is written on one line or on several;
// members of two hardware profiles alike, in two files; two groups of one
// template; and members whose entries hold their names as a value, and
// others whose entries are alike but for that value.
func TestClonesOrigins(t *testing.T) {
	dir := t.TempDir()
	files := vetFleetFiles(`
templates: lab: nixos: environment: etc: motd: text: "hi"
` + labTemplate + `

hardware: vm: {cpu: vendor: "intel"}

hosts: "a-1": template: "lab"
hosts: "a-2": template: "lab"

// A comment that moves the next ones down.

hosts: "a-3": {
	template: "lab"
}
hosts:   "a-4":   {template: "lab"}
hosts: "a-5": {template: "lab", nixos: environment: etc: motd: text: "hi"}
hosts: "a-6": {
	template: "lab"
	nixos: environment: etc: motd: text: "hi"
}
hosts: "a-7": {template: "lab", nixos: environment: etc: motd: text: "hi"}

// Labels of another length: another group, the same class as a-5's.

hosts: "a-10": {template: "lab", nixos: environment: etc: motd: text: "hi"}
hosts:  "a-11": {template: "lab", nixos: environment: etc: motd: text: "hi"}
hosts: "a-12": {
	template: "lab", nixos: environment: etc: motd: text: "hi"}

hosts: "b-1": {template: "lab", nixos: environment: etc: issue: text: "b"}
hosts: "b-2": {template: "lab", nixos: environment: etc: issue: text: "b"}
hosts: "b-3": {template: "lab", nixos: environment: etc: issue: text: "b"}
hosts: "b-4": {template: "lab", nixos: environment: etc: issue: text: "b"}

hosts: "h-1": {template: "lab", hardware: fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}}
hosts: "h-2": {template: "lab", hardware: fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}}
hosts: "h-3": {
	template: "lab"
	hardware: fileSystems: "/": {
		device: "/dev/sda1"
		fsType: "ext4"
	}
}
hosts: "h-4": {template: "lab", hardware: fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}}

hosts: "v-1": {template: "lab", hardwareProfile: "vm"}
hosts: "v-2": {template: "lab", hardwareProfile: "vm"}
hosts: "v-3": {template: "lab", hardwareProfile: "vm"}
hosts: "w-1": {template: "lab", hardwareProfile: "vm2"}
hosts: "w-2": {template: "lab", hardwareProfile: "vm2"}
hosts: "w-3": {template: "lab", hardwareProfile: "vm2"}

hosts: "m-1": {template: "lab", nixos: environment: etc: name: text: "fixed"}
hosts: "m-2": {template: "lab", nixos: environment: etc: name: text: "fixed"}
hosts: "m-3": {template: "lab", nixos: environment: etc: name: text: "fixed"}
hosts: "m-4": {template: "lab", nixos: environment: etc: name: text: "fixed"}

hosts: "n-1": {template: "lab", nixos: environment: etc: name: text: "n-1"}
hosts: "n-2": {template: "lab", nixos: environment: etc: name: text: "n-2"}
hosts: "n-3": {template: "lab", nixos: environment: etc: name: text: "n-3"}
hosts: "n-4": {template: "lab", nixos: environment: etc: name: text: "n-4"}

hosts: "s-1": template: "lab"
hosts: "s-2": template: "lab"
hosts: "s-3": template: "lab"
hosts: "s-1": nixos: environment: etc: split: text: "s"
hosts: "s-2": nixos: environment: etc: split: text: "s"
`)
	files["more.cue"] = `package fleet

// Hosts of the same groups declared in another file.
hosts: "a-8": template: "lab"
hosts: "a-9": {template: "lab", nixos: environment: etc: motd: text: "hi"}
hosts: "b-5": {template: "lab", nixos: environment: etc: issue: text: "b"}

hosts: "s-3": nixos: environment: etc: split: text: "s"

// A hardware profile alike to vm.
hardware: vm2: {
	cpu: vendor: "intel"
}
`
	writeTree(t, dir, files)
	members, refs := classMembers.Load(), refHits.Load()
	// Made alone: the first host of each group (a and h are one, the
	// template sets the hardware they set).
	if n := CompareShared(t, dir); n != 30 {
		t.Errorf("%d hosts shared, want 30", n)
	}
	if classMembers.Load() == members || refHits.Load() == refs {
		t.Errorf("%d hosts located in their lead's tree, %d origins from a ref: the test proves nothing",
			classMembers.Load()-members, refHits.Load()-refs)
	}
	t.Logf("%d hosts located in their lead's tree, %d origins from a ref", classMembers.Load()-members, refHits.Load()-refs)

	// With one goroutine, one locator meets every host of a class, in
	// order: the adversarial fleet's sub-3 leads the class of xyz-2 and
	// xyz-4, whose hostName its leaves place otherwise.
	defer func(n int) { maxHostWorkers = n }(maxHostWorkers)
	maxHostWorkers = 1
	CompareShared(t, clonesFleet(t, ""))
}

// labTemplate is a template "lab" of hosts that check: labSpec.
const labTemplate = `templates: lab: ` + labSpec

// labSpec is a template of hosts that check: a user, hardware and a
// deploy target.
const labSpec = `{
	stateVersion: "25.05"
	users: alice: {}
	hardware: {
		fileSystems: "/": {device: "/dev/sda1", fsType: "ext4"}
		fileSystems: "/boot": {device: "/dev/sda2", fsType: "vfat"}
		boot: loader: "systemd-boot"
	}
	deploy: {targetHost: "192.0.2.1", targetUser: "alice"}
}`
