package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nixos"
)

// SyncOptions control SyncNixOS.
type SyncOptions struct {
	// NixArgs are extra arguments for every nix command.
	NixArgs []string
	// Progress, when not nil, receives progress for a person.
	Progress io.Writer
	// Events, when not nil, receives every progress event.
	Events func(Event)
}

// A SyncResult says what SyncNixOS read and wrote.
type SyncResult struct {
	// File is the option index, absolute.
	File string
	// Written says that the index changed (or is new); an index read
	// again from the same inputs is the same bytes and is left alone.
	Written bool
	// LockCreated says that the generated flake had no lock file and
	// SyncNixOS created it.
	LockCreated bool
	// Modules are the flake modules of the configuration read: every
	// module a host imports, as attribute paths of the inputs, split.
	Modules [][]string
	// Options counts the options of the index by tree.
	Options map[string]int
	// Packages are the packages the fleet uses; Missing those of them
	// the locked nixpkgs does not have.
	Packages, Missing []string
	// Size is the index's size in bytes.
	Size int
	// RemovedUnread says that the instructions of removed options could
	// not be read: the index says only that they were removed.
	RemovedUnread bool
}

// SyncNixOS reads, with nix and the generated flake's locked inputs, the
// real option trees the fleet's hosts are evaluated with (NixOS's
// options and those of the modules the fleet's inputs add, home-manager's
// options of a user, a MicroVM's) with their types, declaring files,
// renamed and removed options, and whether the locked nixpkgs has each
// package the fleet uses, and writes that index to the output directory
// (IndexFile), for VetNixOS. It regenerates the tree first and creates
// the lock file when there is none, as Check does; nothing is built. It
// reads one configuration made of every flake module a host imports and
// nothing of the fleet's own, so that no mistake of the fleet's stops
// it. The index records the lock's inputs: when they change, VetNixOS
// says the index is stale until it is read again. The fleet must be
// loaded with Config.NixOS.
func (f *Fleet) SyncNixOS(ctx context.Context, opts SyncOptions) (*SyncResult, error) {
	if _, err := exec.LookPath("nix"); err != nil {
		return nil, errors.New("nix is not installed: nixos sync reads the option trees with Nix (2.8 or later, with flakes)")
	}
	gen, err := f.generate(GenerateOptions{})
	if err != nil {
		return nil, err
	}
	ef, out, err := f.emitFleet("", nil)
	if err != nil {
		return nil, err
	}
	mods, err := emit.Modules(ef)
	if err != nil {
		return nil, f.emitError(err)
	}
	base, err := nixos.Embedded()
	if err != nil {
		return nil, err
	}
	// Every module any host imports; the packages of every module.
	var set settings
	if err := json.Unmarshal(f.l.Settings, &set); err != nil {
		return nil, fmt.Errorf("reading settings: %v", err)
	}
	imports := map[string]bool{}
	for _, h := range f.hosts {
		for _, m := range hostImports(&set, h) {
			imports[m] = true
		}
	}
	if len(ef.Hosts) == 0 {
		return nil, errors.New("the fleet has no hosts: there is nothing to read the options for")
	}
	var pkgs []string
	for _, m := range mods {
		if m.Expr != nil {
			pkgs = append(pkgs, nixos.PackagesIn(m.Expr)...)
		}
	}
	system := "x86_64-linux"
	if v, err := f.hosts[0].Value(); err == nil {
		if s, ok := v["system"].(string); ok {
			system = s
		}
	}
	args := nixos.SyncArgsFor(base, system, sortedNames(imports), pkgs)
	res := &SyncResult{File: filepath.Join(out, IndexFile), Modules: args.Imports}
	bo, done := nixOptions(0, opts.NixArgs, opts.Progress, opts.Events, []string{"options", "removed options"})
	defer done()
	ref := generatedFlakeRef(gen.OutDir)
	if _, err := os.Stat(filepath.Join(gen.OutDir, "flake.lock")); errors.Is(err, fs.ErrNotExist) {
		if err := build.LockFlake(ctx, ref, bo); err != nil {
			return nil, fmt.Errorf("locking the inputs of the generated flake %s: %v", ref, nixFailure(err))
		}
		res.LockCreated = true
	}
	lock, err := os.ReadFile(filepath.Join(gen.OutDir, "flake.lock"))
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for _, in := range ef.Inputs {
		urls[in.Name] = in.URL
	}
	locked, err := nixos.LockedInputs(lock, urls)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(gen.OutDir, "flake.lock"), err)
	}
	var evals []build.Evaluation
	for _, part := range []string{"options", "removed"} {
		env, err := nixos.SyncEnv(ref, args, part)
		if err != nil {
			return nil, err
		}
		label := "options"
		if part == "removed" {
			label = "removed options"
		}
		evals = append(evals, build.Evaluation{Host: label, Expr: nixos.SyncExpr, Env: env})
	}
	results := build.Evaluate(ctx, evals, bo)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r := results[0]; r.Err != nil {
		return nil, fmt.Errorf("reading the option trees of the locked inputs failed: %s", nixFailure(r.Err))
	}
	var removed []byte
	if results[1].Err == nil {
		removed = results[1].Output
	} else {
		res.RemovedUnread = true
	}
	ix := nixos.Index{System: system, Modules: sortedNames(imports), Inputs: locked}
	idx, err := nixos.BuildIndex(base, ix, args, results[0].Output, removed)
	if err != nil {
		return nil, err
	}
	data, err := idx.Marshal()
	if err != nil {
		return nil, err
	}
	res.Size = len(data)
	res.Options = map[string]int{}
	for _, o := range idx.Options {
		res.Options[o.Tree]++
	}
	for _, p := range idx.Packages {
		res.Packages = append(res.Packages, p.Attr)
		if p.Missing {
			res.Missing = append(res.Missing, p.Attr)
		}
	}
	old, err := os.ReadFile(res.File)
	if err == nil && bytes.Equal(old, data) {
		return res, nil
	}
	if err := writeFileAtomic(res.File, data); err != nil {
		return nil, err
	}
	res.Written = true
	return res, nil
}
