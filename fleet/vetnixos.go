package fleet

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nix/syntax"
	"fleetnix.dev/fleet/internal/nixos"
)

// IndexFile is the name of the fleet's option index in the output
// directory, beside the generated flake's lock file: the option trees of
// the locked nixpkgs and home-manager (and the modules of the fleet's
// inputs) and the packages the fleet uses, as `fleetgen nixos sync` read
// them with Nix. It is the user's to commit, like the lock file; the
// format is internal/nixos's manifest format with an index header.
const IndexFile = "nixos.index.json"

// VetNixOS checks every option path and value the fleet's generated
// modules define (what features compute, what the fleet pass derives,
// free-form nixos values) and every package they name, against the
// fleet's option index (IndexFile) when there is one and it was read
// from the inputs the lock file pins now, else against the manifest
// fleet embeds: the options and packages its features emit. With the
// index every path it lacks is an error, with "did you mean"; renamed
// options are warnings naming the new option, removed ones errors with
// nixpkgs' instructions. Against the manifest, which does not list the
// options a user may set freely, a path or package it lacks is reported
// only when it is a likely typo of one it lists (one edit away, names of
// at least five characters), while values of the options it lists are
// checked by their types all the same. Every problem is placed at the
// user's CUE: where a free-form value was written, the feature's field
// that explains a computed one, the host a fleet-pass value comes from.
// Errors come back as Errors; the warnings (a stale index, renamed
// options, packages the index was read without) are returned. The fleet
// must be loaded with Config.NixOS. Generate runs it first.
func (f *Fleet) VetNixOS() (warnings Errors, err error) {
	defer f.kept.flush(f)
	var set settings
	if err := json.Unmarshal(f.l.Settings, &set); err != nil {
		return nil, fmt.Errorf("reading settings: %v", err)
	}
	out, err := f.outDir()
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for name, in := range set.Inputs {
		urls[name] = in.URL
	}
	imports := map[string]bool{}
	for _, h := range f.hosts {
		for _, m := range hostImports(&set, h) {
			imports[m] = true
		}
	}
	s, err := f.surface(out, urls, sortedNames(imports))
	if err != nil {
		return nil, err
	}
	// A host whose modules were checked clean against the same surface,
	// from the same values, is not checked again (see hostKey).
	fleetKey := f.surfaceKey(s)
	keys := map[string][][]byte{}
	for _, h := range f.hosts {
		if k := h.vetKey(fleetKey); !f.l.Known(vetCacheKind, k...) {
			keys[h.Name] = k
		}
	}
	if len(keys) == 0 {
		return fromDiag(s.warnings), nil
	}
	// The hosts are checked on several goroutines, one at a time on each,
	// their modules dropped once checked; the findings are then taken in
	// the order of the modules' paths, as if every module were checked
	// one after the other.
	ef := f.emitBase(&set, out)
	if err := f.addSecrets(ef); err != nil {
		return nil, err
	}
	modules := set.flakeModules()
	var todo []*Host
	for _, h := range f.hosts {
		if keys[h.Name] != nil {
			todo = append(todo, h)
		}
	}
	// A finding of the module at path, and where it is placed.
	type finding struct {
		path, host string
		d, p       diag.Diagnostic
	}
	// Hosts alike are checked once for all (see vetClones); a group
	// whose check finds anything, or could find something else for
	// another member, is checked host by host.
	units := vetUnits(todo)
	found := make([][]finding, len(units))
	if err := eachHost(len(units), f.newLocators(), func(i int, loc *locator) error {
		if f.vetClones(ef, modules, units[i], s, out) {
			return nil
		}
		for _, h := range units[i] {
			var hf hostFiles
			eh, err := f.emitHost(h, modules, &hf)
			if err != nil {
				return err
			}
			mods, err := ef.HostModules(eh)
			if err != nil {
				return f.emitError(err)
			}
			if err := checkModules(mods, s, s.opts, out, func(mod *emit.Module, d diag.Diagnostic) {
				found[i] = append(found[i], finding{mod.Path, mod.Host, d, f.placeSurface(loc, mod, d, out)})
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var all []finding
	for _, fs := range found {
		all = append(all, fs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].path < all[j].path })
	errs, warns := diag.List{}, s.warnings
	seen := map[string]bool{}
	dirty := map[string]bool{}
	for _, fd := range all {
		d, p := fd.d, fd.p
		dirty[fd.host] = true
		key := fmt.Sprint(p.Range.File, p.Range.Start, d.Code, d.Summary)
		if _, what, ok := strings.Cut(d.Summary, ": "); ok && d.Code == nixos.CodeMissingInput {
			key = d.Code + what // once for each input, whatever needs it
		}
		if seen[key] {
			continue // a layer several hosts share
		}
		seen[key] = true
		if p.Severity >= diag.Error {
			errs.Add(p)
		} else {
			warns.Add(p)
		}
	}
	for _, h := range f.hosts {
		if k := keys[h.Name]; k != nil && !dirty[h.Name] {
			f.l.Remember(vetCacheKind, k...)
		}
	}
	errs.Sort()
	warns.Sort()
	if len(errs) > 0 {
		return fromDiag(warns), fromDiag(errs)
	}
	return fromDiag(warns), nil
}

// checkModules checks the modules mods against the surface s with opts,
// and calls report with each finding; out is the output directory.
func checkModules(mods []emit.Module, s *surface, opts nixos.Options, out string, report func(*emit.Module, diag.Diagnostic)) error {
	for j := range mods {
		mod := &mods[j]
		kind, ok := nixos.KindOf(mod.Path)
		if !ok {
			continue
		}
		name := filepath.Join(out, filepath.FromSlash(mod.Path))
		var file *syntax.File
		if mod.Expr != nil {
			file = syntax.NewFile(mod.Expr)
			file.Name = name
		} else {
			var perrs diag.List
			if file, perrs = syntax.Parse(name, mod.Data); len(perrs) > 0 {
				return fmt.Errorf("%s: generated file does not parse: %s", mod.Path, perrs[0].Summary)
			}
		}
		for _, d := range s.m.Check(file, kind, opts) {
			report(mod, d)
		}
	}
	return nil
}

// vetUnits returns the hosts of todo in the units VetNixOS checks them
// in: a group of hosts alike (cloneKey) together, in the place of its
// first member, every other host alone.
func vetUnits(todo []*Host) [][]*Host {
	keys := make([]string, len(todo))
	if shareClones && len(todo) > 1 {
		forEach(len(todo), func(i int) { keys[i] = cloneKey(todo[i]) })
	}
	at := map[string]int{}
	var units [][]*Host
	for i, h := range todo {
		if keys[i] == "" {
			units = append(units, []*Host{h})
			continue
		}
		if u, ok := at[keys[i]]; ok {
			units[u] = append(units[u], h)
			continue
		}
		at[keys[i]] = len(units)
		units = append(units, []*Host{h})
	}
	return units
}

// vetClones checks the hosts of hosts, a group of hosts alike (see
// cloneGroup), at once, and reports true when that found nothing, as
// checking each would: the modules of the first member with its name
// replaced by a placeholder, which must be those of the same host named
// by a second placeholder with the one replaced by the other, are
// checked as the modules of every member (nixos.Opaque). It reports
// false for a single host, and when the check found anything or could
// have found something else for a member.
func (f *Fleet) vetClones(ef *emit.Fleet, modules []string, hosts []*Host, s *surface, out string) bool {
	if len(hosts) < 2 {
		return false
	}
	h := hosts[0]
	name, alt := placeholder(h.Name, false), placeholder(h.Name, true)
	var hf hostFiles
	eh, err := f.emitAs(h, name, modules, &hf)
	if err != nil {
		return false
	}
	mods, err := ef.HostModules(eh)
	if err != nil {
		return false
	}
	eh, err = f.emitAs(h, alt, modules, &hf)
	if err != nil {
		return false
	}
	check, err := ef.HostModules(eh)
	if err != nil || !emit.SameModules(mods, check, name, alt) {
		return false
	}
	opaque := &nixos.Opaque{Name: name}
	for _, m := range hosts {
		opaque.Others = append(opaque.Others, m.Name)
	}
	opts := s.opts
	opts.Opaque = opaque
	clean := true
	if err := checkModules(mods, s, opts, out, func(*emit.Module, diag.Diagnostic) { clean = false }); err != nil {
		return false
	}
	return clean && !opaque.Differs
}

// vetCacheKind is the kind of the cache's entries of hosts VetNixOS
// found clean.
const vetCacheKind = "vetnixos"

// surfaceKey returns what a host's check depends on besides the host's
// own values: what it is checked against (the index's bytes, or the
// embedded manifest, which the cache's salt covers with the program),
// and the fleet's settings and secrets, which the generated modules
// read (flake inputs, the secrets' files).
func (f *Fleet) surfaceKey(s *surface) []byte {
	h := sha256.New()
	h.Write(s.index)
	if s.opts.TyposOnly {
		h.Write([]byte("typos only"))
	}
	writeJSON := func(b []byte) {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	writeJSON(f.l.Settings)
	for _, name := range sortedNames(f.l.Secrets) {
		writeJSON([]byte(name))
		writeJSON(f.l.Secrets[name])
	}
	return h.Sum(nil)
}

// vetKey returns the parts of host h's cache key for VetNixOS: the
// fleet's part, the host's final value, NixOS and fleet-pass
// configurations and its users' home configurations; or, for a host
// with a load.Host.Key (which all but its fleet-pass configuration are
// computed from), that key and its fleet-pass configuration.
func (h *Host) vetKey(fleetKey []byte) [][]byte {
	if h.h.Key != nil {
		return [][]byte{fleetKey, []byte("host key"), h.h.Key, h.h.Derived}
	}
	k := [][]byte{fleetKey, h.h.JSON(), h.h.NixOS(), h.h.Derived}
	for _, u := range sortedNames(h.h.Home) {
		k = append(k, []byte(u), h.h.Home[u])
	}
	return k
}

// A surface is what VetNixOS checks against.
type surface struct {
	m        *nixos.Manifest
	opts     nixos.Options
	warnings diag.List
	// index is the index's bytes; nil for the embedded manifest.
	index []byte
}

// surface returns the fleet's option index in out when there is one and
// the lock file there pins the inputs it was read from and the hosts
// import no module it was read without (imports are those they do);
// else the embedded manifest, with a warning saying why the index is not
// used. urls are the flake's inputs.
func (f *Fleet) surface(out string, urls map[string]string, imports []string) (*surface, error) {
	base, err := nixos.Embedded()
	if err != nil {
		return nil, err
	}
	manifest := &surface{m: base, opts: nixos.Options{Inputs: urls, TyposOnly: true}}
	indexFile := filepath.Join(out, IndexFile)
	data, err := os.ReadFile(indexFile)
	if errors.Is(err, fs.ErrNotExist) {
		return manifest, nil
	}
	if err != nil {
		return nil, err
	}
	at := diag.Range{File: indexFile}
	m, err := nixos.ParseIndex(data, base)
	if err != nil {
		var d diag.List
		d.Add(diag.Diagnostic{Severity: diag.Error, Range: at,
			Summary: fmt.Sprintf("%s: not an option index this fleetgen reads: %v", IndexFile, err),
			Detail:  "read it again with fleetgen nixos sync"})
		return nil, fromDiag(d)
	}
	stale := func(why string) (*surface, error) {
		manifest.warnings.Add(diag.Diagnostic{Severity: diag.Warning, Range: at, Code: "nixos-stale-index",
			Summary: fmt.Sprintf("%s is stale: %s; vet checks against fleet's own manifest instead", IndexFile, why),
			Detail:  "read the index again with fleetgen nixos sync"})
		return manifest, nil
	}
	lock, err := os.ReadFile(filepath.Join(out, "flake.lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return stale("there is no flake.lock beside it")
	}
	if err != nil {
		return nil, err
	}
	now, err := nixos.LockedInputs(lock, urls)
	if err != nil {
		return stale("flake.lock: " + err.Error())
	}
	if diff := m.Index.Stale(now); len(diff) > 0 {
		return stale("flake.lock pins other inputs than it was read from (" + strings.Join(diff, "; ") + ")")
	}
	if missing := missingModules(m.Index.Modules, imports); len(missing) > 0 {
		return stale("it was read without the options of " + strings.Join(missing, ", ") + ", which hosts now import")
	}
	return &surface{m: m, opts: nixos.Options{Inputs: urls}, index: data}, nil
}

// hostImports returns the flake modules host h imports, as attribute
// paths of the inputs ("disko.nixosModules.disko"), sorted.
func hostImports(s *settings, h *Host) []string {
	mods := s.flakeModules()
	if h.layout != nil {
		mods = append(mods, emit.DiskoInput+".nixosModules.disko")
	}
	slices.Sort(mods)
	return slices.Compact(mods)
}

// missingModules returns the modules of imports that are not in read.
func missingModules(read, imports []string) []string {
	var out []string
	for _, m := range imports {
		if !slices.Contains(read, m) {
			out = append(out, m)
		}
	}
	return out
}

// placeSurface puts a finding of the check of the generated module mod
// at the user's CUE, through what the emitter says produced the value
// at its path.
func (f *Fleet) placeSurface(loc *locator, mod *emit.Module, d diag.Diagnostic, out string) diag.Diagnostic {
	h := f.byName[mod.Host]
	p := diag.Diagnostic{Severity: d.Severity, Code: d.Code, Summary: d.Summary, Detail: d.Detail}
	r, path := h.h.Decl, []string{"hosts", h.Name}
	var v emit.Value
	if mod.Expr != nil {
		v = mod.Describe(d.Path)
		// A computed struct is explained by the field behind one of its
		// values.
		if m, ok := v.Data.(map[string]any); ok && !isMarker(m) && (v.Part == emit.PartComputed || v.Part == emit.PartHome || v.Part == emit.PartFleet) {
			if leaf := firstLeaf(m); leaf != nil {
				v = mod.Describe(append(append([]string(nil), d.Path...), leaf...))
			}
		}
	} else {
		v = mod.Describe(nil)
	}
	if o := loc.locate(&v); o.File != "" {
		r = diag.Range{File: filepath.Join(f.l.ModRoot, filepath.FromSlash(o.File)), Start: diag.Pos{Line: o.Line, Col: o.Col}}
		r.End = r.Start
		if pp, err := ParsePath(o.Path); err == nil && len(pp) > 0 {
			path = pp
		}
	}
	// A free-form value's own path says which option it is.
	opt := nixos.JoinPath(d.Path) + ": "
	if v.Part == emit.PartNixOS && strings.HasPrefix(p.Summary, opt) {
		p.Summary = strings.TrimPrefix(p.Summary, opt)
	} else if mod.Expr != nil && len(d.Path) > 0 && v.Part != emit.PartNixOS {
		gen, _ := filepath.Rel(f.l.ModRoot, filepath.Join(out, filepath.FromSlash(mod.Path)))
		p.Detail = strings.TrimPrefix(p.Detail+"\n", "\n") + fmt.Sprintf("generated in %s as %s", filepath.ToSlash(gen), showOption(d.Path))
	}
	p.Range, p.Path = r, path
	p.Summary = formatPath(path) + ": " + p.Summary
	return p
}

// firstLeaf returns the path of the first leaf of m in sorted order (a
// scalar, a list, a marker), or nil when m has none.
func firstLeaf(m map[string]any) []string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sub, ok := m[k].(map[string]any)
		if !ok || isMarker(sub) {
			return []string{k}
		}
		if rest := firstLeaf(sub); rest != nil {
			return append([]string{k}, rest...)
		}
	}
	return nil
}

// showOption prints an option path of a generated module as the source
// map does: list elements (decimal components) as [i].
func showOption(path []string) string {
	var b strings.Builder
	for i, c := range path {
		switch {
		case isIndex(c) && i > 0:
			b.WriteString("[" + c + "]")
		case i > 0:
			b.WriteString("." + nixos.JoinPath([]string{c}))
		default:
			b.WriteString(nixos.JoinPath([]string{c}))
		}
	}
	return b.String()
}
