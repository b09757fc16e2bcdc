package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"fleetnix.dev/fleet/internal/cli"
	"fleetnix.dev/fleet/internal/fleettest"
)

// update rewrites the golden sections of the scripts. FLEET_UPDATE=1 sets
// it for every package at once; -update is an alias for this package.
var update = flag.Bool("update", os.Getenv("FLEET_UPDATE") != "", "update testscript golden files")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fleetgen":      func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
		"gcfloor-check": func() { os.Exit(gcFloorCheck()) },
	})
}

// TestScript runs every testdata/script/*.txtar. Scripts that need real
// Nix start with "[!nix] skip"; the nix condition is true when
// nix-instantiate is on PATH, and with CI set a missing Nix fails the run
// instead of skipping. Scripts that start OpenSSH servers (the sshd
// command) start with "[!sshd] skip" likewise, and scripts that make a
// directory read-only (the readonly command) with "[!readonly] skip".
func TestScript(t *testing.T) {
	_, nixErr := exec.LookPath("nix-instantiate")
	if nixErr != nil && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but nix-instantiate is not on PATH: %v", nixErr)
	}
	if nixErr != nil {
		t.Logf("nix-instantiate not found: scripts needing Nix are skipped (install Debian's nix-bin)")
	}
	sshdMissing := fleettest.MissingSSHD()
	if sshdMissing != "" && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", sshdMissing)
	}
	if sshdMissing != "" {
		t.Logf("%s: scripts needing sshd are skipped", sshdMissing)
	}
	roMissing := readOnlyMissing()
	if roMissing != "" && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but the readonly command cannot work: %s", roMissing)
	}
	if roMissing != "" {
		t.Logf("%s: scripts needing a read-only directory are skipped", roMissing)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("CUE_REGISTRY", "none")
			e.Setenv("CUE_CACHE_DIR", e.WorkDir+"/.cuecache")
			e.Setenv("FLEETCACHE", e.WorkDir+"/.fleetcache")
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":     exitcode,
			"sshd":         sshd,
			"fixtureflake": fixtureFlake,
			"mininixpkgs":  miniNixpkgs,
			"waitfile":     waitFile,
			"readmewalk":   readmeWalk,
			"nohash":       noHash,
			"jsonschema":   jsonSchema,
			"readonly":     readOnly,
			"downs":        downs,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "nix":
				return nixErr == nil, nil
			case "sshd":
				return sshdMissing == "", nil
			case "readonly":
				return roMissing == "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// exitcode runs a program like exec and checks its exact exit status:
//
//	exitcode 2 fleetgen frobnicate
//
// Its stdout and stderr are kept for the stdout and stderr commands.
func exitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// sshd starts a real OpenSSH server on 127.0.0.1 for each host named, to
// stand in for it, and writes a CUE file (package fleet) that points the
// hosts' deploy settings at them:
//
//	sshd targets.cue alpha beta gamma=deployer
//
// writes hosts.<h>.deploy.{targetHost, port, targetUser} and
// hosts.<h>.network.ssh.port for each host, and _sshd.<h>.port for scripts
// that need the port elsewhere. The deploy user is the user running the
// tests, or the one after "=", who need not exist (the servers accept only
// the users of this machine). Host h's
// system lives under $WORK/hosts/<h>, which its ssh sessions see as
// $FLEET_TEST_ROOT. The command sets $TARGET_ROOT to $WORK/hosts/{host},
// for fleetgen's --target-root, and $NIX_SSHOPTS to the options that reach
// the servers (a throwaway key and known_hosts in $WORK/.ssh). The servers
// stop when the script ends.
func sshd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sshd FILE.cue HOST...")
	}
	keyDir := ts.MkAbs(".ssh")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		ts.Fatalf("%v", err)
	}
	keys, err := fleettest.MakeKeys(keyDir)
	if err != nil {
		ts.Fatalf("%v", err)
	}
	var b strings.Builder
	b.WriteString("package fleet\n\n// Written by the testscript command sshd.\n")
	for _, h := range args[1:] {
		h, login, _ := strings.Cut(h, "=")
		root := ts.MkAbs(filepath.Join("hosts", h))
		dir := ts.MkAbs(filepath.Join(".sshd", h))
		for _, d := range []string{root, dir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				ts.Fatalf("%v", err)
			}
		}
		s, err := fleettest.Start(keys, root, dir)
		if err != nil {
			ts.Fatalf("sshd for %s: %v", h, err)
		}
		ts.Defer(s.Stop)
		if login == "" {
			login = s.User
		}
		fmt.Fprintf(&b, "_sshd: %q: port: %d\n", h, s.Port)
		fmt.Fprintf(&b, "hosts: %q: deploy: {targetHost: %q, port: %d, targetUser: %q}\n", h, s.Addr, s.Port, login)
		// The host's sshd listens on that port too, as the lockout
		// guard checks.
		fmt.Fprintf(&b, "hosts: %q: network: ssh: port: %d\n", h, s.Port)
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Setenv("TARGET_ROOT", ts.MkAbs(filepath.Join("hosts", "{host}")))
	ts.Setenv("NIX_SSHOPTS", strings.Join(keys.SSHArgs(), " "))
}

// fixtureFlakeDir is the build driver's self-contained fixture flake:
// each host's toplevel is a tiny derivation whose switch-to-configuration
// records what it was asked to do under $FLEET_TEST_ROOT.
const fixtureFlakeDir = "../../internal/build/testdata/flake"

// fixtureFlake copies the fixture flake into DIR (a settings.json the
// script put there is kept) and sets up Nix to build it here (setupNix):
//
//	fixtureflake flake
func fixtureFlake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fixtureflake DIR")
	}
	dir := ts.MkAbs(args[0])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ts.Fatalf("%v", err)
	}
	for _, name := range []string{"flake.nix", "build.sh", "switch-to-configuration.sh"} {
		b, err := os.ReadFile(filepath.Join(fixtureFlakeDir, name))
		if err != nil {
			ts.Fatalf("%v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			ts.Fatalf("%v", err)
		}
	}
	setupNix(ts)
}

// setupNix sets NIX_CONFIG to turn flakes on and the sandbox, build
// users and binary caches off (the fixtures build with /bin/sh, and the
// tests run offline, possibly as root), and XDG_CACHE_HOME to keep Nix's
// caches in $WORK.
func setupNix(ts *testscript.TestScript) {
	ts.Setenv("NIX_CONFIG", strings.Join([]string{
		"experimental-features = nix-command flakes",
		"build-users-group =",
		"sandbox = false",
		"substituters =",
	}, "\n"))
	ts.Setenv("XDG_CACHE_HOME", ts.MkAbs(".cache"))
}

// miniNixpkgsDir is the miniature nixpkgs written for the tests: a flake
// with lib.nixosSystem, a small module system with nixpkgs' messages, a
// toy package set, and home-manager and agenix modules.
const miniNixpkgsDir = "../../testdata/mininixpkgs"

// miniNixpkgs points the fleet's flake inputs at the miniature nixpkgs,
// so that fleetgen check evaluates its hosts for real, offline:
//
//	mininixpkgs [-copy DIR] inputs.cue
//
// writes inputs.cue (package fleet) with settings.inputs nixpkgs,
// home-manager (with its NixOS module) and agenix (likewise) at the
// miniature's absolute path, and sets up Nix as fixtureflake does. With
// -copy, the inputs are a copy of the miniature in DIR, which the script
// may change (and lock again).
func miniNixpkgs(ts *testscript.TestScript, neg bool, args []string) {
	copyTo := ""
	if len(args) == 3 && args[0] == "-copy" {
		copyTo, args = args[1], args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mininixpkgs [-copy DIR] FILE.cue")
	}
	dir, err := filepath.Abs(miniNixpkgsDir)
	if err != nil {
		ts.Fatalf("%v", err)
	}
	if copyTo != "" {
		if err := fleettest.CopyDir(ts.MkAbs(copyTo), dir); err != nil {
			ts.Fatalf("%v", err)
		}
		dir = ts.MkAbs(copyTo)
	}
	url := strconv.Quote("path:" + dir)
	src := "package fleet\n\n// Written by the testscript command mininixpkgs.\nsettings: inputs: {\n" +
		"\tnixpkgs: url: " + url + "\n" +
		"\t\"home-manager\": {url: " + url + ", nixosModules: \"nixosModules.home-manager\": true}\n" +
		"\tagenix: {url: " + url + ", nixosModules: \"nixosModules.agenix\": true}\n}\n"
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte(src), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
	setupNix(ts)
}

// waitFile waits until a file exists, for scripts that act while a
// background command is in a given state; it fails after a minute:
//
//	waitfile hosts/alpha/held-v2
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile PATH")
	}
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile: %s did not appear within a minute", args[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readmeWalk writes to FILE the shell block of README.md's "Your first
// fleet", so that a script can run it as a newcomer would:
//
//	readmewalk walk.sh
//	readmewalk walk.sh -before 'fleetgen check' 'cp "$WORK/inputs.cue" inputs.cue'
//
// -before puts a command of the test's before the block's first line that
// starts with the given text (the fixture nixpkgs in place of the
// network's), and fails when there is no such line.
func readmeWalk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 1 && (len(args) != 4 || args[1] != "-before")) {
		ts.Fatalf("usage: readmewalk FILE [-before LINE COMMAND]")
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		ts.Fatalf("%v", err)
	}
	_, rest, ok := strings.Cut(string(b), "\n## Your first fleet\n")
	if !ok {
		ts.Fatalf("README.md has no section \"Your first fleet\"")
	}
	_, rest, ok = strings.Cut(rest, "\n```sh\n")
	if !ok {
		ts.Fatalf("README.md's \"Your first fleet\" has no sh block")
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		ts.Fatalf("README.md's sh block does not end")
	}
	if len(args) == 4 {
		lines := strings.Split(block, "\n")
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, args[2]) })
		if i < 0 {
			ts.Fatalf("README.md's sh block has no line starting with %q", args[2])
		}
		block = strings.Join(slices.Insert(lines, i, args[3]), "\n")
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte("set -ex\n"+block+"\n"), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

// storeHash is the hash part of a store path.
var storeHash = regexp.MustCompile(`/nix/store/[0-9a-df-np-sv-z]{32}-`)

// noHash replaces the hash of every store path in the files named by
// "/nix/store/HASH-", so that goldens do not change with the fixture's
// inputs:
//
//	nohash plan.txt
func noHash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: nohash FILE...")
	}
	for _, name := range args {
		p := ts.MkAbs(name)
		b, err := os.ReadFile(p)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		b = storeHash.ReplaceAll(b, []byte("/nix/store/HASH-"))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			ts.Fatalf("%v", err)
		}
	}
}

// jsonSchema validates a JSON document, or with -lines every line of a
// file of JSON lines, against a JSON Schema, or with -def against one of
// its $defs:
//
//	jsonschema -def plan ../../docs/events.schema.json plan.json
//	jsonschema -lines ../../docs/events.schema.json events.jsonl
//
// A relative schema path is relative to this package's directory, where
// the repository's docs are.
func jsonSchema(ts *testscript.TestScript, neg bool, args []string) {
	lines, def := false, ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-lines":
			lines, args = true, args[1:]
		case args[0] == "-def" && len(args) > 1:
			def, args = args[1], args[2:]
		default:
			ts.Fatalf("jsonschema: unknown flag %s", args[0])
		}
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonschema [-lines] [-def NAME] SCHEMA FILE")
	}
	abs, err := filepath.Abs(args[0])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	c := jsonschema.NewCompiler()
	url := "file://" + filepath.ToSlash(abs)
	if def != "" {
		url += "#/$defs/" + def
	}
	sch, err := c.Compile(url)
	if err != nil {
		ts.Fatalf("compiling %s: %v", args[0], err)
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	docs := [][]byte{b}
	if lines {
		docs = bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	}
	for i, d := range docs {
		var v any
		if err := json.Unmarshal(d, &v); err != nil {
			ts.Fatalf("%s: document %d: %v", args[1], i+1, err)
		}
		if err := sch.Validate(v); err != nil {
			ts.Fatalf("%s: document %d does not follow %s: %v\n%s", args[1], i+1, args[0], err, d)
		}
	}
}

// downs reads a deployment's JSON event stream and prints how many hosts
// were down at most at once, as the order of the events tells (no clock
// is read): a host is down from the start of its activation until it is
// confirmed, or its activation or rollback ended it:
//
//	downs events.jsonl
//
// prints "most down at once: 2".
func downs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: downs FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	down := map[string]bool{}
	most := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev struct{ Type, Host, Step, Kind string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
		if ev.Type != "event" || ev.Host == "" {
			continue
		}
		switch {
		case ev.Step == "activate" && ev.Kind == "start":
			down[ev.Host] = true
		case ev.Step == "confirm" && (ev.Kind == "done" || ev.Kind == "fail"),
			ev.Step == "rollback" && (ev.Kind == "done" || ev.Kind == "fail"),
			ev.Step == "activate" && ev.Kind == "fail":
			delete(down, ev.Host)
		}
		most = max(most, len(down))
	}
	fmt.Fprintf(ts.Stdout(), "most down at once: %d\n", most)
}
