package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
)

// GeneratedHeader is the first line of every file fleetgen writes. Only
// files starting with it are ever rewritten or removed.
const GeneratedHeader = emit.Header

// GenerateOptions control Generate.
type GenerateOptions struct {
	// OutDir overrides the fleet's settings.output. A relative path is
	// relative to the CUE module's root.
	OutDir string
	// Check reports what would change without writing anything.
	Check bool
}

// A GenerateResult says what Generate changed, or with Check would
// change. Paths are absolute.
type GenerateResult struct {
	// OutDir is the output directory.
	OutDir string
	// Written are files created or rewritten; Removed are generated files
	// that no longer belong to the fleet. Unchanged files are left alone.
	Written, Removed []string
	// Warnings are what VetNixOS warned about.
	Warnings Errors
}

// Stale reports whether the tree on disk differs from the fleet.
func (r *GenerateResult) Stale() bool { return len(r.Written)+len(r.Removed) > 0 }

// Generate writes the fleet's Nix tree: flake.nix, a module per host,
// a home-manager module per user and host, and the agenix rules; for each
// host with a disk layout (disks), its disko configuration
// (disks/<host>.nix) and live installer (installers/<host>.nix, the flake
// output "<host>-installer"), whose SSH logins are the keys of the host's
// users in the wheel group.
//
// It is all or nothing: files are staged beside the old tree as they are
// made, then the new tree replaces the old one in a single rename, so an
// error or an interruption
// (kill -9 included) leaves the previous tree as it was; staging
// directories an interrupted run left beside it are removed by the next.
// Files whose bytes do not change keep their inode and modification time,
// directories keep their modes.
//
// Generate owns only what it wrote: a file without the generated header
// where it would write is an error naming it, and so are a symbolic link
// or a special file (a FIFO) in the way, an output directory that is the
// module root, sits under cue.mod, is reached through a symbolic link or
// holds CUE files, and an old tree it could not remove; in every case
// nothing changes. Files of the user's own elsewhere in the tree are kept
// as they are and never opened unless they are regular files. Two runs on
// one tree take turns (the second waits for the first). The fleet must be
// loaded with Config.NixOS.
//
// Generate first checks what the modules define against NixOS's option
// surface, as VetNixOS does, and writes nothing when that finds an error
// (the Errors then hold its warnings too).
func (f *Fleet) Generate(opts GenerateOptions) (*GenerateResult, error) {
	defer f.l.Cache().Batch()()
	warnings, err := f.VetNixOS()
	var errs Errors
	if errors.As(err, &errs) {
		return nil, append(warnings, errs...)
	}
	if err != nil {
		return nil, err
	}
	res, err := f.generate(opts)
	if res != nil {
		res.Warnings = warnings
	}
	return res, err
}

// generate is Generate without the check against NixOS's options.
func (f *Fleet) generate(opts GenerateOptions) (*GenerateResult, error) {
	outDir, err := f.outputDir(opts.OutDir)
	if err != nil {
		return nil, err
	}
	if err := checkOutDir(f.l.ModRoot, outDir); err != nil {
		// The fleet's own errors come first.
		if gerr := f.generateTo(outDir, discardSink{}); gerr != nil {
			return nil, gerr
		}
		return nil, err
	}
	parent := filepath.Dir(outDir)
	if !opts.Check {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(parent); err == nil {
		unlock, err := lockDir(parent, !opts.Check)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if !opts.Check {
		if err := removeLeftovers(outDir); err != nil {
			return nil, err
		}
	}
	sink := newTreeSink(outDir, opts.Check, f.l.Cache())
	if err := f.generateTo(outDir, sink); err != nil {
		sink.discard()
		return nil, err
	}
	return sink.finish()
}

// settings is the part of the fleet's settings Generate reads.
type settings struct {
	Description string            `json:"description"`
	Output      string            `json:"output"`
	SecretsDir  string            `json:"secretsDir"`
	AdminKeys   map[string]string `json:"adminKeys"`
	Inputs      map[string]struct {
		URL          string            `json:"url"`
		Follows      map[string]string `json:"follows"`
		NixOSModules map[string]bool   `json:"nixosModules"`
	} `json:"inputs"`
}

// flakeModules returns the NixOS modules of the flake's inputs every host
// imports, as attribute paths of the inputs ("agenix.nixosModules.default").
func (s *settings) flakeModules() []string {
	var modules []string
	for _, name := range sortedNames(s.Inputs) {
		for _, m := range sortedNames(s.Inputs[name].NixOSModules) {
			if s.Inputs[name].NixOSModules[m] {
				modules = append(modules, name+"."+m)
			}
		}
	}
	return modules
}

type secretValue struct {
	Name       string `json:"name"`
	File       string `json:"file"`
	Owner      string `json:"owner"`
	Group      string `json:"group"`
	Mode       string `json:"mode"`
	Recipients struct {
		Users map[string]bool `json:"users"`
		Hosts map[string]bool `json:"hosts"`
	} `json:"recipients"`
}

// files returns the generated files, sorted by path, and the absolute
// output directory.
func (f *Fleet) files(outOverride string) ([]emit.File, string, error) {
	out, err := f.outputDir(outOverride)
	if err != nil {
		return nil, "", err
	}
	var sink memSink
	if err := f.generateTo(out, &sink); err != nil {
		return nil, "", err
	}
	return sink.sorted(), out, nil
}

// outputDir returns the absolute output directory: the fleet's
// settings.output, or outOverride, relative to the module's root.
func (f *Fleet) outputDir(outOverride string) (string, error) {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return "", fmt.Errorf("reading settings: %v", err)
	}
	return f.outputDirOf(&s, outOverride)
}

// outputDirOf is outputDir with the settings read.
func (f *Fleet) outputDirOf(s *settings, outOverride string) (string, error) {
	out := s.Output
	if outOverride != "" {
		out = outOverride
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(f.l.ModRoot, out)
	}
	outRel, err := filepath.Rel(f.l.ModRoot, out)
	if err != nil || strings.HasPrefix(outRel, "..") {
		return "", fmt.Errorf("output directory %s is outside the fleet's module %s", out, f.l.ModRoot)
	}
	return out, nil
}

// emitFleet returns what the emitter needs to write the fleet's tree,
// and the absolute output directory. With only, the hosts only says
// yes to: enough for their modules (emit.Modules), not for the agenix
// rules, whose recipients come from every host.
func (f *Fleet) emitFleet(outOverride string, only func(*Host) bool) (*emit.Fleet, string, error) {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return nil, "", fmt.Errorf("reading settings: %v", err)
	}
	out, err := f.outputDirOf(&s, outOverride)
	if err != nil {
		return nil, "", err
	}
	ef := f.emitBase(&s, out)
	modules := s.flakeModules()
	users := f.fleetUsers()
	for _, h := range f.hosts {
		if only != nil && !only(h) {
			continue
		}
		var hf hostFiles
		eh, err := f.emitHost(h, modules, &hf)
		if err != nil {
			return nil, "", err
		}
		ef.Hosts = append(ef.Hosts, *eh)
		for n, u := range hf.users {
			users[n] = u
		}
	}
	// Recipients: the users a secret declares, the hosts whose
	// configuration uses it (or that it names), the administrators.
	usedBy := secretsUsedBy(ef.Hosts)
	hostKeys, err := f.hostKeys()
	if err != nil {
		return nil, "", err
	}
	for _, name := range sortedNames(f.l.Secrets) {
		sv, err := f.secret(name)
		if err != nil {
			return nil, "", err
		}
		es := emit.Secret{Name: name, File: sv.File, Owner: sv.Owner, Group: sv.Group, Mode: sv.Mode,
			Recipients: recipientsOf(sv, users, usedBy[name], hostKeys, s.AdminKeys)}
		ef.Secrets = append(ef.Secrets, es)
	}
	return ef, out, nil
}

// addSecrets adds the fleet's secrets to ef, without their recipients:
// what a host's modules need of them.
func (f *Fleet) addSecrets(ef *emit.Fleet) error {
	for _, name := range sortedNames(f.l.Secrets) {
		sv, err := f.secret(name)
		if err != nil {
			return err
		}
		ef.Secrets = append(ef.Secrets, emit.Secret{Name: name, File: sv.File, Owner: sv.Owner, Group: sv.Group, Mode: sv.Mode})
	}
	return nil
}

// emitBase returns the emitter's fleet without hosts and secrets, for the
// absolute output directory out.
func (f *Fleet) emitBase(s *settings, out string) *emit.Fleet {
	outRel, _ := filepath.Rel(f.l.ModRoot, out)
	ef := &emit.Fleet{
		Description: s.Description,
		OutDir:      filepath.ToSlash(outRel),
		SecretsDir:  filepath.ToSlash(s.SecretsDir),
	}
	for _, name := range sortedNames(s.Inputs) {
		in := s.Inputs[name]
		ef.Inputs = append(ef.Inputs, emit.Input{Name: name, URL: in.URL, Follows: in.Follows})
	}
	return ef
}

// generateTo generates the fleet's files, for the output directory out,
// into sink.
func (f *Fleet) generateTo(out string, sink fileSink) error {
	defer f.l.Cache().Batch()() // closed after the places are kept
	defer f.kept.flush(f)
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return fmt.Errorf("reading settings: %v", err)
	}
	ef := f.emitBase(&s, out)
	modules := s.flakeModules()
	if err := f.addSecrets(ef); err != nil {
		return err
	}
	locators := f.newLocators()
	fl := locators.new()
	hosts := make([]emit.Host, len(f.hosts))
	for i, h := range f.hosts {
		hosts[i] = emit.Host{Name: h.Name, Modules: modules, Disks: h.layout}
	}
	gc := f.newGenCache(ef, modules)
	flake, flakeMap, err := gc.flake(hosts, fl)
	if err != nil {
		return f.emitError(err)
	}
	// The fleet's source map has the flake's part and the agenix
	// rules'; each host's map is one of its files.
	if err := putFiles(sink, flake); err != nil {
		return err
	}
	// Every host's files are written on a goroutine of its own, each with
	// a locator of its own; what the fleet-wide files need of a host is
	// kept, the rest is dropped as soon as its files are written.
	outs := make([]hostFiles, len(f.hosts))
	gc.clones = &clones{}
	if err := eachHostIn(f.receiversLast(), locators, func(i int, l *locator) error {
		o := &outs[i]
		return gc.hostFiles(f.hosts[i], l, o, sink)
	}); err != nil {
		return err
	}
	// Recipients: the users a secret declares, the hosts whose
	// configuration uses it (or that it names), the administrators.
	users := f.fleetUsers()
	usedBy := map[string]map[string]bool{}
	hostKeys := map[string]string{}
	maps := map[string]string{}
	for i, h := range f.hosts {
		o := &outs[i]
		for _, p := range o.mapped {
			maps[p] = emit.HostSourceMapFile(h.Name)
		}
		for n, u := range o.users {
			users[n] = u
		}
		for s := range o.secrets {
			if usedBy[s] == nil {
				usedBy[s] = map[string]bool{}
			}
			usedBy[s][h.Name] = true
		}
		if o.hostKey != "" {
			hostKeys[h.Name] = o.hostKey
		}
	}
	for i := range ef.Secrets {
		sv, err := f.secret(ef.Secrets[i].Name)
		if err != nil {
			return err
		}
		ef.Secrets[i].Recipients = recipientsOf(sv, users, usedBy[ef.Secrets[i].Name], hostKeys, s.AdminKeys)
	}
	secrets, secretsMap, err := gc.rules(fl)
	if err != nil {
		return f.emitError(err)
	}
	if err := putFiles(sink, secrets); err != nil {
		return err
	}
	parts := [][]byte{flakeMap, secretsMap}
	return sink.putStream(emit.SourceMapFile, func(w io.Writer) error {
		return emit.WriteSourceMap(w, len(parts), func(i int) ([]byte, error) { return parts[i], nil }, maps)
	})
}

// putFiles gives the files of fs to sink.
func putFiles(sink fileSink, fs *emit.Files) error {
	for _, file := range fs.Files {
		if err := sink.put(file.Path, file.Data); err != nil {
			return err
		}
	}
	return nil
}

// hostFiles are a host's generated files, its source map
// (emit.HostSourceMapFile) among them, the files that map maps, and what
// the fleet-wide files need of the host: the users on it (their final
// values), the secrets its configuration uses, its SSH host key.
type hostFiles struct {
	files   []emit.File
	mapped  []string
	users   map[string]map[string]any
	secrets map[string]bool
	hostKey string
}

// generateHost generates the files of host h into out: from the files
// of its group in cs when it has one and they can be shared (see
// cloneGroup), else its own.
func (f *Fleet) generateHost(ef *emit.Fleet, cs *clones, h *Host, modules []string, l *locator, out *hostFiles) error {
	if g := cs.group(h); g != nil && f.generateClone(cs, g, ef, h, modules, l, out) {
		return nil
	}
	eh, err := f.emitHost(h, modules, out)
	if err != nil {
		return err
	}
	files, err := ef.Host(eh, l.locate)
	if err != nil {
		return f.emitError(err)
	}
	out.files, out.mapped = files.Files, nil
	if files.Map != nil {
		out.files = append(out.files, emit.HostSourceMap(h.Name, files.Map))
		for _, mf := range files.Map.Files {
			out.mapped = append(out.mapped, mf.Path)
		}
	}
	return nil
}

// emitHost returns what the emitter needs of host h, and records in out
// what the fleet-wide files need of it: its users' final values, the
// secrets its configuration uses, its SSH host key.
func (f *Fleet) emitHost(h *Host, modules []string, out *hostFiles) (*emit.Host, error) {
	return f.emitHostAs(h, h.Name, h.h.JSON(), h.h.NixOS(), h.h.Derived, h.h.Home, modules, out)
}

// emitHostAs is emitHost for host h named name, with the final value
// value, NixOS configuration nixos, fleet-pass configuration derived and
// home configurations home instead of h's own: those of h with its name
// replaced by another (see cloneGroup).
func (f *Fleet) emitHostAs(h *Host, name string, value, nixosJSON, derived []byte, home map[string][]byte, modules []string, out *hostFiles) (*emit.Host, error) {
	if nixosJSON == nil {
		return nil, errors.New("the fleet was loaded without Config.NixOS; Generate needs the hosts' NixOS configurations")
	}
	nixos, err := decodeObject(nixosJSON)
	if err != nil {
		return nil, fmt.Errorf("host %s: %v", name, err)
	}
	eh := &emit.Host{Name: name, NixOS: nixos, Modules: modules, Comment: hostComment(h, name), Disks: h.layout, AdminKeys: h.adminKeys,
		Loader: h.loader, EFIVariables: h.efiVariables}
	v, err := emitFieldsOf(value)
	if err != nil {
		return nil, err
	}
	if extra, ok := v.NixOS.(map[string]any); ok {
		eh.Extra = extra
	}
	if derived != nil {
		if eh.Derived, err = decodeObject(derived); err != nil {
			return nil, fmt.Errorf("host %s: %v", name, err)
		}
	}
	for _, u := range h.Users {
		home, err := decodeObject(home[u.Name])
		if err != nil {
			return nil, fmt.Errorf("host %s, user %s: %v", name, u.Name, err)
		}
		c := fmt.Sprintf("Home of %s on %s.", u.Name, name)
		switch len(u.Profiles) {
		case 0:
		case 1:
			c = fmt.Sprintf("Home of %s on %s: profile %s.", u.Name, name, u.Profiles[0])
		default:
			c = fmt.Sprintf("Home of %s on %s: profiles %s.", u.Name, name, strings.Join(u.Profiles, " + "))
		}
		eh.Users = append(eh.Users, emit.User{Name: u.Name, Home: home, Comment: []string{c}})
	}
	if us, ok := v.Users.(map[string]any); ok {
		out.users = map[string]map[string]any{}
		for n, u := range us {
			if m, ok := u.(map[string]any); ok {
				out.users[n] = m
			}
		}
	}
	if d, ok := v.Deploy.(map[string]any); ok {
		out.hostKey, _ = d["hostKey"].(string)
	}
	out.secrets = map[string]bool{}
	for s, by := range secretsUsedBy([]emit.Host{*eh}) {
		out.secrets[s] = by[name]
	}
	return eh, nil
}

// forEach calls work(i) for every i in [0, n) on several goroutines (one
// per CPU, at most 8), each taking the next i when it is free, and
// returns when all are done.
func forEach(n int, work func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), 8, max(n, 1)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				work(i)
			}
		})
	}
	wg.Wait()
}

// eachHost calls work(i, l) for every host index i in [0, n), on
// several goroutines (one per CPU, at most 8: emitting is CPU-bound),
// each with a locator of its own. It returns the error of the lowest i
// that failed, so that the error does not depend on timing.
func eachHost(n int, ls *locators, work func(i int, l *locator) error) error {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return eachHostIn(order, ls, work)
}

// maxHostWorkers bounds eachHostIn's goroutines (tests make it one, so
// that one locator meets the hosts in order).
var maxHostWorkers = 8

// eachHostIn is eachHost, for the indices of order, started in that
// order.
func eachHostIn(order []int, ls *locators, work func(i int, l *locator) error) error {
	n := len(order)
	workers := min(runtime.NumCPU(), maxHostWorkers, max(n, 1))
	free := make(chan *locator, workers)
	for range workers {
		free <- ls.new()
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, i := range order {
		locate := <-free
		wg.Go(func() {
			defer func() { free <- locate }()
			errs[i] = work(i, locate)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hostComment returns the comment of the module of host h, named name.
func hostComment(h *Host, name string) []string {
	var parts []string
	if h.Template != "" {
		parts = append(parts, "template "+h.Template)
	}
	if h.HardwareProfile != "" {
		parts = append(parts, "hardware profile "+h.HardwareProfile)
	}
	c := "Host " + name
	if len(parts) > 0 {
		c += ": " + strings.Join(parts, ", ")
	}
	lines := []string{c + "."}
	if len(h.h.Doc) > 0 {
		lines = append(append(lines, ""), h.h.Doc...)
	}
	return lines
}

// emitFields are the fields of a host's final value the emitter reads,
// as Value decodes them: the rest of the value is skipped. (The schema's
// #Host has no other field whose name differs from these only by case,
// which encoding/json would also match.)
type emitFields struct {
	NixOS  any `json:"nixos"`
	Users  any `json:"users"`
	Deploy any `json:"deploy"`
}

// emitFieldsOf decodes the fields of a host's final value, value, the
// emitter reads.
func emitFieldsOf(value []byte) (*emitFields, error) {
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	var v emitFields
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// decodeObject decodes the JSON object b, numbers kept as json.Number.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// emitError places an error of the emitter at the user's CUE line where
// it can: a free-form NixOS value that conflicts with a computed one is
// reported where the host (or its template) wrote it.
func (f *Fleet) emitError(err error) error {
	var oe *emit.OverlayError
	var ee *emit.Error
	if !errors.As(err, &ee) || !errors.As(err, &oe) {
		return err
	}
	name := strings.TrimSuffix(strings.TrimPrefix(ee.File, "hosts/"), ".nix")
	h := f.byName[name]
	if h == nil {
		return err
	}
	path := append([]string{"nixos"}, oe.Path...)
	n, _ := h.tree().Nearest(path)
	r := h.h.Decl
	if o := n.Leaf(); o != nil {
		r = o.Range
	} else if o := n.Decl(); o != nil {
		r = o.Range
	}
	return fromDiag(diag.List{{
		Severity: diag.Error,
		Range:    r,
		Path:     append([]string{"hosts", name}, path...),
		Summary:  "hosts." + name + "." + oe.Error(),
	}})
}
