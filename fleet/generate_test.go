package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// nixInstantiate returns the path of nix-instantiate; missing, the test
// skips locally and fails under CI.
func nixInstantiate(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but nix-instantiate is missing: %v", err)
	}
	t.Skip("nix-instantiate not found (install Debian's nix-bin); skipping the real-Nix check")
	return ""
}

// copyFleet copies the reference fleet (its *.cue files and module) into
// a new directory, with the schema vendored as a link, and returns it.
func copyFleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "cue.mod", "pkg", "fleetnix.dev", "fleet"), 0o755))
	mod, err := os.ReadFile("../cue.mod/module.cue")
	must(err)
	must(os.WriteFile(filepath.Join(dir, "cue.mod", "module.cue"), mod, 0o644))
	schemaDir, err := filepath.Abs("../schema")
	must(err)
	must(os.Symlink(schemaDir, filepath.Join(dir, "cue.mod", "pkg", "fleetnix.dev", "fleet", "schema")))
	files, err := filepath.Glob("../*.cue")
	must(err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(err)
		must(os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
	}
	return dir
}

func generateReference(t *testing.T) (*Fleet, *GenerateResult) {
	t.Helper()
	dir := copyFleet(t)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		var b bytes.Buffer
		PrintErrors(&b, dir, err)
		t.Fatalf("%v\n%s", err, b.String())
	}
	res, err := f.Generate(GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f, res
}

// collectMarkers gathers the package paths and the config/pkgs paths of
// raw Nix selections the data uses, to build evaluation stubs.
func collectMarkers(t *testing.T, v any, pkgs, config map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if p, ok := x["$pkg"].(string); ok {
				stubAt(t, pkgs, strings.Split(p, "."), x)
				return
			}
			if ip, ok := x["$inputPkg"].(map[string]any); ok {
				// inputs.<input>.packages.${pkgs.stdenv.hostPlatform.system}.<attr>
				stubAt(t, pkgs, []string{"stdenv", "hostPlatform", "system"}, "x86_64-linux")
				path := append([]string{"inputs", ip["input"].(string), "packages", "x86_64-linux"}, strings.Split(ip["attr"].(string), ".")...)
				stubAt(t, config, append([]string{evalInputsKey}, path...), x)
				return
			}
			if src, ok := x["$nix"].(string); ok {
				root, path := selectPath(t, src)
				switch root {
				case "pkgs":
					stubAt(t, pkgs, path, x)
				case "config":
					stubAt(t, config, path, x)
				default:
					t.Fatalf("raw Nix %q is not a selection from config or pkgs; the eval test cannot stub it", src)
				}
				return
			}
		}
		for _, e := range x {
			collectMarkers(t, e, pkgs, config)
		}
	case []any:
		for _, e := range x {
			collectMarkers(t, e, pkgs, config)
		}
	}
}

// selectPath splits a raw Nix selection x.a.b into x and [a b].
func selectPath(t *testing.T, src string) (string, []string) {
	f, errs := syntax.ParseIn("raw", []byte(src), "config", "pkgs")
	if len(errs) > 0 {
		t.Fatalf("raw Nix %q: %v", src, errs)
	}
	sel, ok := f.Expr.(*syntax.Select)
	if !ok || sel.Or != nil {
		t.Fatalf("raw Nix %q is not a plain selection", src)
	}
	id, ok := sel.X.(*syntax.Ident)
	if !ok {
		t.Fatalf("raw Nix %q does not select from a variable", src)
	}
	var path []string
	for _, n := range sel.Path.Names {
		nid, ok := n.(*syntax.Ident)
		if !ok {
			t.Fatalf("raw Nix %q has a quoted or dynamic name", src)
		}
		path = append(path, nid.Tok.Text)
	}
	return id.Tok.Text, path
}

func stubAt(t *testing.T, m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			if _, taken := m[k]; taken {
				t.Fatalf("stub path %v is both a value and a set", path)
			}
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// evalInputsKey is where collectMarkers puts the stubs of flake inputs'
// packages, among the config stubs; the harness moves them to inputs.
const evalInputsKey = "__fleet_test_inputs"

const harness = `let
  stubs = builtins.fromJSON (builtins.readFile ./stubs.json);
  inputStubs = (stubs.config.__fleet_test_inputs or { }).inputs or { };
  args = {
    inherit (stubs) pkgs;
    config = removeAttrs stubs.config [ "__fleet_test_inputs" ];
    lib = {
      mkForce = v: { "$force" = v; };
      mkDefault = v: { "$default" = v; };
    };
    inputs = inputStubs // { disko.nixosModules.disko = "disko module"; };
  };
  m = import ./HOST args;
  hm = m.home-manager or { };
in
{
  module = removeAttrs m [ "home-manager" "age" "imports" ];
  imports = map toString (m.imports or [ ]);
  homeManager = (removeAttrs hm [ "users" ]) // {
    users = builtins.mapAttrs (_: f: f args) (hm.users or { });
  };
  secrets = builtins.mapAttrs (_: s: (removeAttrs s [ "file" ]) // { file = toString s.file; }) (m.age.secrets or { });
}
`

// TestGeneratedHostsEvaluate evaluates every generated host module (and
// the home modules it imports) with real Nix, with stub module arguments
// that turn pkgs.x, config.age.secrets.x.path, lib.mkForce and
// lib.mkDefault back into fleet's markers, and checks the result is
// exactly the host's CUE data; for a host with a disk layout, without the
// fileSystems its layout mounts, and importing its disko configuration
// and disko's module.
func TestGeneratedHostsEvaluate(t *testing.T) {
	nix := nixInstantiate(t)
	f, res := generateReference(t)
	out := res.OutDir
	for _, h := range f.Hosts() {
		t.Run(h.Name, func(t *testing.T) {
			nixos, err := decodeObject(h.h.NixOS())
			if err != nil {
				t.Fatal(err)
			}
			if h.h.Derived != nil {
				derived, err := decodeObject(h.h.Derived)
				if err != nil {
					t.Fatal(err)
				}
				overlayForTest(t, nixos, derived)
			}
			v, _ := h.Value()
			if extra, ok := v["nixos"].(map[string]any); ok {
				overlayForTest(t, nixos, extra)
			}
			users := map[string]any{}
			for _, u := range h.Users {
				home, err := decodeObject(h.h.Home[u.Name])
				if err != nil {
					t.Fatal(err)
				}
				users[u.Name] = home
			}
			pkgs, config := map[string]any{}, map[string]any{}
			collectMarkers(t, nixos, pkgs, config)
			collectMarkers(t, users, pkgs, config)
			used := map[string]bool{}
			emit.FindSecrets(nixos, used)
			emit.FindSecrets(users, used)
			secrets := map[string]any{}
			for name := range used {
				stubAt(t, config, []string{"age", "secrets", name, "path"}, map[string]any{"$secret": name})
				var sv secretValue
				if err := json.Unmarshal(f.l.Secrets[name], &sv); err != nil {
					t.Fatal(err)
				}
				secrets[name] = map[string]any{
					"file":  filepath.Join(f.l.ModRoot, "secrets", sv.File),
					"owner": sv.Owner, "group": sv.Group, "mode": sv.Mode,
				}
			}
			stubs, _ := json.Marshal(map[string]any{"pkgs": pkgs, "config": config})
			work := t.TempDir()
			os.WriteFile(filepath.Join(work, "stubs.json"), stubs, 0o644)
			hostFile := filepath.Join(out, "hosts", h.Name+".nix")
			os.WriteFile(filepath.Join(work, "harness.nix"), []byte(strings.ReplaceAll(harness, "./HOST", hostFile)), 0o644)
			cmd := exec.Command(nix, "--eval", "--strict", "--json", filepath.Join(work, "harness.nix"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
			}
			var gotV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			delete(nixos, "home-manager")
			delete(nixos, "age")
			hm := map[string]any{"users": users}
			if len(users) > 0 {
				hm["useGlobalPkgs"], hm["useUserPackages"] = true, true
			}
			imports := []string{}
			if disks, ok := v["disks"].(map[string]any); ok {
				fs, _ := nixos["fileSystems"].(map[string]any)
				// The layout's filesystems come from disko's module.
				for _, m := range layoutMounts(disks) {
					delete(fs, m)
				}
				if len(fs) == 0 {
					delete(nixos, "fileSystems")
				}
				imports = []string{filepath.Join(out, "disks", h.Name+".nix"), "disko module"}
			}
			wantJSON, _ := json.Marshal(map[string]any{"module": nixos, "homeManager": hm, "secrets": secrets, "imports": imports})
			var wantV any
			json.Unmarshal(wantJSON, &wantV)
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("Nix evaluates %s differently from the CUE data (-cue +nix):\n%s", hostFile, diff)
			}
		})
	}
}

// layoutMounts returns the mount points of the filesystems of a host's
// disks value.
func layoutMounts(disks map[string]any) []string {
	var out []string
	for _, d := range disks {
		parts, _ := d.(map[string]any)["partitions"].(map[string]any)
		for _, p := range parts {
			if fs, ok := p.(map[string]any)["filesystem"].(map[string]any); ok {
				out = append(out, fs["mountpoint"].(string))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestGeneratedFlakeEvaluates calls the generated flake's outputs with
// stub inputs and checks a nixosConfigurations entry per host, built from
// its host module and the home-manager and agenix modules, and one per
// host with a disk layout for its installer, which gets the host's own
// configuration as the special argument host.
func TestGeneratedFlakeEvaluates(t *testing.T) {
	nix := nixInstantiate(t)
	f, res := generateReference(t)
	expr := `let
  flake = import ` + filepath.Join(res.OutDir, "flake.nix") + `;
  inputs = {
    self = outputs;
    nixpkgs.lib.nixosSystem = a: {
      modules = map toString a.modules;
      special = builtins.attrNames a.specialArgs;
      host = if a.specialArgs ? host then a.specialArgs.host.modules else null;
    };
    home-manager.nixosModules.home-manager = "home-manager module";
    agenix.nixosModules.default = "agenix module";
  };
  outputs = flake.outputs inputs;
in
{
  urls = builtins.mapAttrs (_: i: i.url) flake.inputs;
  configs = outputs.nixosConfigurations;
}
`
	got, err := exec.Command(nix, "--eval", "--strict", "--json", "-E", expr).CombinedOutput()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, got)
	}
	var v struct {
		URLs    map[string]string `json:"urls"`
		Configs map[string]struct {
			Modules []string `json:"modules"`
			Special []string `json:"special"`
			Host    []string `json:"host"`
		} `json:"configs"`
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	var s settings
	json.Unmarshal(f.l.Settings, &s)
	for name, in := range s.Inputs {
		if v.URLs[name] != in.URL {
			t.Errorf("input %s: url %q, want %q", name, v.URLs[name], in.URL)
		}
	}
	var hosts []string
	for name, c := range v.Configs {
		hosts = append(hosts, name)
		hostModules := func(h string) []string {
			return []string{filepath.Join(res.OutDir, "hosts", h+".nix"), "agenix module", "home-manager module"}
		}
		if h, ok := strings.CutSuffix(name, "-installer"); ok {
			if diff := cmp.Diff([]string{filepath.Join(res.OutDir, "installers", h+".nix")}, c.Modules); diff != "" {
				t.Errorf("%s modules (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff([]string{"host", "inputs"}, c.Special); diff != "" {
				t.Errorf("%s specialArgs (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff(hostModules(h), c.Host); diff != "" {
				t.Errorf("%s: host is not %s's configuration (-want +got):\n%s", name, h, diff)
			}
			continue
		}
		if diff := cmp.Diff(hostModules(name), c.Modules); diff != "" {
			t.Errorf("%s modules (-want +got):\n%s", name, diff)
		}
	}
	sort.Strings(hosts)
	if strings.Join(hosts, " ") != "dex5550 dex5550-installer p510 p620 razer samsung" {
		t.Errorf("nixosConfigurations = %v", hosts)
	}
}

// TestGenerateIsDeterministic generates twice and checks nothing changes
// the second time, and that --check then finds the tree current.
func TestGenerateIsDeterministic(t *testing.T) {
	f, res := generateReference(t)
	if len(res.Written) == 0 {
		t.Fatal("the first run wrote nothing")
	}
	before := map[string]os.FileInfo{}
	for _, p := range res.Written {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = fi
	}
	again, err := f.Generate(GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Stale() {
		t.Errorf("second run changed %v %v", again.Written, again.Removed)
	}
	for p, fi := range before {
		now, _ := os.Stat(p)
		if !os.SameFile(fi, now) || !now.ModTime().Equal(fi.ModTime()) {
			t.Errorf("%s was rewritten though its bytes did not change", p)
		}
	}
	for _, p := range res.Written {
		b, _ := os.ReadFile(p)
		if rel, err := filepath.Rel(res.OutDir, p); err == nil && emit.IsSourceMap(filepath.ToSlash(rel)) {
			first, _, _ := strings.Cut(string(b), "\n")
			if !emit.IsGenerated(first) {
				t.Errorf("%s does not start with the source map's generated header: %q", p, first)
			}
			if _, err := emit.ReadSourceMap(b); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		if !bytes.HasPrefix(b, []byte(GeneratedHeader+"\n")) {
			t.Errorf("%s does not start with the generated header", p)
		}
		formatted, err := FormatNix(p, b)
		if err != nil {
			t.Errorf("%s does not parse: %v", p, err)
		} else if !bytes.Equal(formatted, b) {
			t.Errorf("%s changes when formatted", p)
		}
	}
}

// overlayForTest merges a host's free-form NixOS data over the computed
// data, as the NixOS module system would for the shapes the reference
// fleet uses: structs merge, lists concatenate, $force replaces.
func overlayForTest(t *testing.T, base, extra map[string]any) {
	for k, ev := range extra {
		bv, ok := base[k]
		if !ok {
			base[k] = ev
			continue
		}
		em, eok := ev.(map[string]any)
		bm, bok := bv.(map[string]any)
		if eok && len(em) == 1 && em["$force"] != nil {
			base[k] = ev
			continue
		}
		if eok && bok {
			overlayForTest(t, bm, em)
			continue
		}
		el, eok := ev.([]any)
		bl, bok := bv.([]any)
		if eok && bok {
			base[k] = append(bl, el...)
			continue
		}
		t.Fatalf("free-form %s = %v conflicts with %v", k, ev, bv)
	}
}

// evalJSON evaluates a Nix expression strictly and decodes its JSON.
func evalJSON(t *testing.T, nix, expr string) any {
	t.Helper()
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "-E", expr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// trueKeys returns the keys of a CUE struct of booleans that are true,
// sorted.
func trueKeys(v any) []any {
	m, _ := v.(map[string]any)
	var out []string
	for k, on := range m {
		if on == true {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	var l []any
	for _, s := range out {
		l = append(l, s)
	}
	return l
}

// TestGeneratedInstallersEvaluate evaluates, with real Nix, the disko
// configuration and the installer module generated for every host of the
// reference fleet that has a disk layout. The disko configuration must
// hold the host's disks as its CUE value has them, partitions in the order
// of their priorities; the installer, called with stub arguments, must
// admit exactly the SSH keys of the host's wheel users and install the
// host's system with its disko script.
func TestGeneratedInstallersEvaluate(t *testing.T) {
	nix := nixInstantiate(t)
	f, res := generateReference(t)
	n := 0
	for _, h := range f.Hosts() {
		v, err := h.Value()
		if err != nil {
			t.Fatal(err)
		}
		disks, ok := v["disks"].(map[string]any)
		if !ok {
			continue
		}
		n++
		t.Run(h.Name, func(t *testing.T) {
			got := evalJSON(t, nix, "import "+filepath.Join(res.OutDir, "disks", h.Name+".nix"))
			gotDisks, _ := got.(map[string]any)["disko"].(map[string]any)["devices"].(map[string]any)["disk"].(map[string]any)
			want := map[string]any{}
			for name, d := range disks {
				d := d.(map[string]any)
				parts := map[string]any{}
				for pn, p := range d["partitions"].(map[string]any) {
					p := p.(map[string]any)
					e := map[string]any{"size": p["size"]}
					if ty, ok := p["type"]; ok {
						e["type"] = ty
					}
					var c map[string]any
					if fs, ok := p["filesystem"].(map[string]any); ok {
						c = map[string]any{"type": "filesystem", "format": fs["format"], "mountpoint": fs["mountpoint"]}
						if opts := trueKeys(fs["mountOptions"]); len(opts) > 0 {
							c["mountOptions"] = opts
						}
						if args, ok := fs["extraArgs"].([]any); ok && len(args) > 0 {
							c["extraArgs"] = args
						}
					}
					if s, ok := p["swap"].(map[string]any); ok {
						c = map[string]any{"type": "swap"}
						for k, on := range s {
							if on == true {
								c[k] = true
							}
						}
					}
					if k, ok := p["luks"].(map[string]any); ok {
						c = map[string]any{"type": "luks", "name": k["name"], "content": c}
						if pf, ok := k["passwordFile"]; ok {
							c["passwordFile"] = pf
						}
						if k["allowDiscards"] == true {
							c["settings"] = map[string]any{"allowDiscards": true}
						}
					}
					if c != nil {
						e["content"] = c
					}
					// Generated priorities are positions; they must follow the
					// layout's own priorities, checked below.
					if gp, ok := gotDisks[name].(map[string]any)["content"].(map[string]any)["partitions"].(map[string]any)[pn].(map[string]any); ok {
						e["priority"] = gp["priority"]
					}
					parts[pn] = e
				}
				want[name] = map[string]any{"type": "disk", "device": d["device"],
					"content": map[string]any{"type": "gpt", "partitions": parts}}
				var names []string
				for pn := range parts {
					names = append(names, pn)
				}
				prio := func(pn string) float64 {
					p, _ := parts[pn].(map[string]any)["priority"].(float64)
					return p
				}
				sort.Slice(names, func(i, j int) bool { return prio(names[i]) < prio(names[j]) })
				last := json.Number("-1")
				for i, pn := range names {
					if prio(pn) != float64(i+1) {
						t.Errorf("disk %s: partition %s has priority %v, want %d", name, pn, prio(pn), i+1)
					}
					own, ok := d["partitions"].(map[string]any)[pn].(map[string]any)["priority"].(json.Number)
					if !ok {
						continue
					}
					if a, _ := own.Int64(); a < mustInt(last) {
						t.Errorf("disk %s: partition %s (priority %s) is laid out after one with priority %s", name, pn, own, last)
					}
					last = own
				}
			}
			if diff := cmp.Diff(want, gotDisks); diff != "" {
				t.Errorf("disks/%s.nix evaluates differently from the host's disks (-cue +nix):\n%s", h.Name, diff)
			}

			var keys []any
			users, _ := v["users"].(map[string]any)
			for _, u := range sortedNames(users) {
				um := users[u].(map[string]any)
				if groups, _ := um["groups"].(map[string]any); groups["wheel"] != true {
					continue
				}
				sk, _ := um["sshKeys"].(map[string]any)
				for _, l := range sortedNames(sk) {
					keys = append(keys, sk[l])
				}
			}
			if len(keys) == 0 {
				t.Fatalf("%s has a disk layout but no wheel user with keys", h.Name)
			}
			inst := evalJSON(t, nix, `let m = import `+filepath.Join(res.OutDir, "installers", h.Name+".nix")+` {
  lib.mkForce = x: { _force = x; };
  pkgs.writeShellScriptBin = name: text: { inherit name text; };
  modulesPath = "/stub/nixos/modules";
  host.config.system.build = { diskoScript = "/nix/store/aaaa-disko"; toplevel = "/nix/store/bbbb-system"; };
  host.config.nixpkgs.hostPlatform.system = "`+v["system"].(string)+`";
}; in {
  inherit (m) imports networking nixpkgs environment;
  ssh = m.services.openssh.settings;
  keys = m.users.users.root.openssh.authorizedKeys.keys;
  nixosKeys = m.users.users.nixos.openssh.authorizedKeys.keys;
}`)
			// The script refuses a legacy-BIOS boot when installing the
			// host's loader writes EFI variables.
			boot, _ := v["hardware"].(map[string]any)["boot"].(map[string]any)
			loader, _ := boot["loader"].(string)
			check := ""
			if efi, _ := boot["efi"].(map[string]any); loader == "systemd-boot" && efi["canTouchVariables"] == true {
				check = "if [ ! -d /sys/firmware/efi ]; then\n  echo '" + h.Name + " boots by UEFI (systemd-boot) and its installation writes the firmware boot entries: boot this installer in UEFI mode, not legacy BIOS.' >&2\n  exit 1\nfi\n"
			}
			wantInst := map[string]any{
				"imports":    []any{"/stub/nixos/modules/installer/cd-dvd/installation-cd-minimal.nix"},
				"networking": map[string]any{"hostName": h.Name + "-installer"},
				"nixpkgs":    map[string]any{"hostPlatform": v["system"]},
				"environment": map[string]any{"systemPackages": []any{map[string]any{
					"name": "install-" + h.Name,
					"text": "set -eu\n" + check + "/nix/store/aaaa-disko\nnixos-install --no-root-passwd --no-channel-copy --system /nix/store/bbbb-system\necho '" + h.Name + " is installed with boot loader " + loader + "; reboot into it.'\n",
				}}},
				"ssh": map[string]any{
					"PasswordAuthentication":       false,
					"KbdInteractiveAuthentication": false,
					"PermitRootLogin":              map[string]any{"_force": "prohibit-password"},
				},
				"keys":      keys,
				"nixosKeys": keys,
			}
			if diff := cmp.Diff(wantInst, inst); diff != "" {
				t.Errorf("installers/%s.nix (-want +got):\n%s", h.Name, diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no host of the reference fleet has a disk layout")
	}
}

func mustInt(n json.Number) int64 {
	i, _ := n.Int64()
	return i
}
