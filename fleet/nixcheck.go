package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nix/syntax"
	"fleetnix.dev/fleet/internal/nixerr"
)

// CheckOptions control Check.
type CheckOptions struct {
	// Hosts selects the hosts, as Select takes them: names and "@tag"s.
	// Empty means every host.
	Hosts []string
	// Jobs bounds how many hosts are evaluated at once; 0 means
	// DefaultJobs().
	Jobs int
	// NixArgs are extra arguments for every nix command, such as
	// "--option", "substituters", "". Check always enables the
	// nix-command and flakes features.
	NixArgs []string
	// Progress, when not nil, receives progress for a person: one live
	// line per host when it is a terminal, plain lines otherwise.
	Progress io.Writer
	// Events, when not nil, receives every progress event, one call at a
	// time.
	Events func(Event)
}

// A CheckResult is what Check found.
type CheckResult struct {
	// OutDir is the generated tree that was evaluated.
	OutDir string
	// LockCreated says that the generated flake had no lock file and
	// Check created it (flake.lock in OutDir), locking its inputs as they
	// are now.
	LockCreated bool
	// Hosts are the selected hosts' evaluations, in fleet order.
	Hosts []HostCheck
}

// A HostCheck is one host's evaluation.
type HostCheck struct {
	Host string
	// Toplevel is the derivation of the host's system
	// (config.system.build.toplevel.drvPath); empty when it did not
	// evaluate.
	Toplevel string
	// Homes are the derivations of each user's home-manager activation
	// (config.home-manager.users.<user>.home.activationPackage.drvPath).
	Homes map[string]string
	// Problems are NixOS's errors and warnings, each at the user's
	// file:line:col that produced the generated line concerned.
	Problems Errors
	// Duration is the wall time of the evaluation.
	Duration time.Duration
}

// Failed reports whether any host has an error.
func (r *CheckResult) Failed() bool {
	for _, h := range r.Hosts {
		for _, d := range h.Problems {
			if d.Severity == Error {
				return true
			}
		}
	}
	return false
}

// Problems returns every host's problems, in host order.
func (r *CheckResult) Problems() Errors {
	var out Errors
	for _, h := range r.Hosts {
		out = append(out, h.Problems...)
	}
	return out
}

// checkApply is what Check evaluates of each host's configuration: the
// derivations of its system and of each user's home-manager activation.
// It is a constant: a host's name reaches nix only in the attribute path.
const checkApply = `c: {
  toplevel = c.config.system.build.toplevel.drvPath;
  homes = builtins.mapAttrs (_: u: u.home.activationPackage.drvPath) (c.config.home-manager.users or { });
}`

// Check evaluates each selected host for real with nix, offline, with the
// generated flake's locked inputs: its system's toplevel derivation and
// each user's home-manager activation, at most Jobs hosts at a time.
// Nothing is built. It regenerates the fleet's Nix tree first (as Build
// does); when the generated flake has no lock file yet it creates one,
// and never changes an existing one. Every error and warning of NixOS is
// mapped back, through the source map, to the CUE position that produced
// the generated line it is about. A host that fails is a result, not an
// error; the error is for what stops Check before any host is evaluated.
// The fleet must be loaded with Config.NixOS.
func (f *Fleet) Check(ctx context.Context, opts CheckOptions) (*CheckResult, error) {
	sel, err := f.Select(opts.Hosts...)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("nix"); err != nil {
		return nil, errors.New("nix is not installed: check evaluates the hosts with Nix (2.8 or later, with flakes)")
	}
	gen, err := f.generate(GenerateOptions{})
	if err != nil {
		return nil, err
	}
	m, err := readSourceMap(gen.OutDir)
	if err != nil {
		return nil, fmt.Errorf("reading the generated tree's source map: %v", err)
	}
	res := &CheckResult{OutDir: gen.OutDir}
	names := make([]string, len(sel))
	for i, h := range sel {
		names[i] = h.Name
	}
	bo, done := nixOptions(opts.Jobs, opts.NixArgs, opts.Progress, opts.Events, names)
	defer done()
	ref := generatedFlakeRef(gen.OutDir)
	if _, err := os.Stat(filepath.Join(gen.OutDir, "flake.lock")); errors.Is(err, fs.ErrNotExist) {
		if err := build.LockFlake(ctx, ref, bo); err != nil {
			hint := ""
			if strings.HasPrefix(ref, "git+file:") {
				hint = " (in a git work tree Nix sees only what git tracks: git add the generated tree)"
			}
			return nil, fmt.Errorf("locking the inputs of the generated flake %s: %v%s", ref, nixFailure(err), hint)
		}
		res.LockCreated = true
	}
	evals := make([]build.Evaluation, len(sel))
	for i, h := range sel {
		evals[i] = build.Evaluation{Host: h.Name, Installable: ref + "#nixosConfigurations." + attrLabel(h.Name), Apply: checkApply}
	}
	pl := &placer{f: f, m: m, outDir: gen.OutDir}
	for i, r := range build.Evaluate(ctx, evals, bo) {
		h := sel[i]
		hc := HostCheck{Host: h.Name, Duration: r.Duration}
		probs := nixerr.Parse(r.Stderr)
		for _, p := range probs {
			hc.Problems = append(hc.Problems, pl.place(h, p)...)
		}
		if r.Err != nil && !hasError(probs) {
			hc.Problems = append(hc.Problems, pl.failure(h, r.Err))
		}
		if r.Err == nil {
			var out struct {
				Toplevel string            `json:"toplevel"`
				Homes    map[string]string `json:"homes"`
			}
			if err := json.Unmarshal(r.Output, &out); err != nil {
				hc.Problems = append(hc.Problems, pl.failure(h, fmt.Errorf("reading nix eval's output: %v", err)))
			}
			hc.Toplevel, hc.Homes = out.Toplevel, out.Homes
		}
		res.Hosts = append(res.Hosts, hc)
	}
	return res, ctx.Err()
}

// nixOptions returns the driver's options for the local nix commands of
// hosts, and a function to call when the driver is done.
func nixOptions(jobs int, nixArgs []string, progress io.Writer, events func(Event), hosts []string) (*build.Options, func()) {
	bo := &build.Options{
		Jobs:    jobs,
		NixArgs: append([]string{"--extra-experimental-features", "nix-command flakes"}, nixArgs...),
	}
	var p *build.Progress
	if progress != nil {
		p = build.NewProgress(progress, hosts)
	}
	if p != nil || events != nil {
		bo.Events = func(e build.Event) {
			if p != nil {
				p.Event(e)
			}
			if events != nil {
				events(Event{Time: e.Time, Host: e.Host, Wave: e.Wave, Step: string(e.Op), Kind: e.Kind.String(), Msg: e.Msg, Err: hostError(e.Err), Preview: previewOf(e.Preview)})
			}
		}
	}
	return bo, func() {
		if p != nil {
			p.Close()
		}
	}
}

// attrLabel writes a host's name as a label of a flake attribute path.
func attrLabel(name string) string {
	if syntax.IsIdent(name) {
		return name
	}
	return strconv.Quote(name)
}

func hasError(ps []nixerr.Problem) bool {
	for _, p := range ps {
		if !p.IsWarning {
			return true
		}
	}
	return false
}

// nixFailure describes a failed nix command by the error it printed.
func nixFailure(err error) string {
	var be *build.Error
	if errors.As(err, &be) {
		for _, p := range nixerr.Parse(be.Stderr) {
			if !p.IsWarning {
				return p.Message
			}
		}
	}
	return err.Error()
}

// readSourceMap reads the source map of the generated tree in outDir:
// the fleet's map now, a host's when one of its files is looked at (a
// host's map that cannot be read leaves its problems at the generated
// lines, as for a file without a map).
func readSourceMap(outDir string) (*emit.SourceMap, error) {
	return emit.OpenSourceMap(func(p string) ([]byte, error) {
		return os.ReadFile(filepath.Join(outDir, filepath.FromSlash(p)))
	})
}

// sourceMapOf reads the source map among generated files.
func sourceMapOf(files []emit.File) (*emit.SourceMap, error) {
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.Path] = f.Data
	}
	if byPath[emit.SourceMapFile] == nil {
		return nil, errors.New("the generated tree has no source map")
	}
	return emit.OpenSourceMap(func(p string) ([]byte, error) {
		b, ok := byPath[p]
		if !ok {
			return nil, fmt.Errorf("the generated tree has no %s", p)
		}
		return b, nil
	})
}

// A placer puts NixOS's problems with one generated tree at the user's
// positions, through the tree's source map.
type placer struct {
	f      *Fleet
	m      *emit.SourceMap
	outDir string
}

// located is where a problem is: the source map's entry, and the
// generated file it is in.
type located struct {
	file  string
	entry emit.Entry
	ok    bool
}

// place turns one problem of host h into diagnostics: one per failed
// assertion, else one.
func (pl *placer) place(h *Host, p nixerr.Problem) Errors {
	if p.Kind == nixerr.Assertion {
		var out Errors
		for _, item := range p.Items {
			user, msg := "", item
			if u, rest, ok := strings.Cut(item, " profile: "); ok && h.hasUser(u) {
				user, msg = u, rest
			}
			loc := pl.byNames(h, user, msg)
			first, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
			out = append(out, pl.diagnostic(h, Error, loc, "NixOS assertion failed: "+first, "", "Failed assertions:\n- "+item))
		}
		return out
	}
	var loc located
	summary, fix := "", ""
	opt := p.Option
	if list, i, ok := nixerr.ListElement(opt); ok {
		opt = list + "[" + strconv.Itoa(i) + "]"
	}
	switch p.Kind {
	case nixerr.UndeclaredOption:
		loc = pl.byDefs(h, opt, p.Defs)
		summary = fmt.Sprintf("%s is not an option of this nixpkgs", p.Option)
		fix = "check the option's name: NixOS declares no option " + p.Option + " (a typo, an option of another release, or of a module the host does not import)"
	case nixerr.Conflict:
		loc = pl.byDefs(h, opt, p.Defs)
		summary = fmt.Sprintf("%s has conflicting definitions: NixOS sets it too", p.Option)
		if other := pl.otherDef(p.Defs); other != "" {
			summary = fmt.Sprintf("%s has conflicting definitions: %s sets it too", p.Option, other)
		}
		fix = "wrap the value in {$force: ...} to override the other definition, or in {$default: ...} to let it win"
	case nixerr.WrongType:
		loc = pl.byDefs(h, opt, p.Defs)
		summary = fmt.Sprintf("%s must be a %s", opt, p.Type)
		if v := pl.generatedValue(p.Defs); v != "" {
			summary += ", not " + v
		}
	case nixerr.Undefined:
		summary = fmt.Sprintf("%s is used but not defined", p.Option)
		fix = "NixOS needs a value for " + p.Option + "; set it (free-form under nixos, until the schema models it)"
	case nixerr.MissingAttribute:
		loc = pl.byPosition(p.At)
		summary = fmt.Sprintf("attribute %q does not exist", p.Attr)
		if loc.ok && isPackage(loc.entry.At) {
			summary = fmt.Sprintf("package %q is not in this nixpkgs", p.Attr)
			fix = "check the package's attribute path, or take it from the flake input or overlay that provides it"
		}
		if len(p.Suggestions) > 0 {
			summary += fmt.Sprintf(" (did you mean %s?)", strings.Join(p.Suggestions, ", "))
		}
	case nixerr.Deprecation:
		loc = pl.byDefs(h, p.Option, filesAsDefs(p.Files))
		summary = fmt.Sprintf("%s is deprecated", p.Option)
		if p.RenamedTo != "" {
			summary = fmt.Sprintf("%s was renamed to %s", p.Option, p.RenamedTo)
			fix = "set " + p.RenamedTo + " instead"
		}
	case nixerr.Warning:
		user, msg := "", p.Message
		if u, rest, ok := strings.Cut(msg, " profile: "); ok && h.hasUser(u) {
			user, msg = u, rest
		}
		loc = pl.byNames(h, user, msg)
		summary = "NixOS warns: " + firstLine(pl.rewrite(p.Message))
	default:
		loc = pl.byPosition(p.At)
		summary = "NixOS cannot evaluate the host: " + firstLine(pl.rewrite(p.Message))
	}
	sev := Error
	if p.IsWarning {
		sev = Warning
	}
	return Errors{pl.diagnostic(h, sev, loc, summary, fix, p.Message)}
}

// hasUser reports whether h has a user called name.
func (h *Host) hasUser(name string) bool {
	for _, u := range h.Users {
		if u.Name == name {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func isPackage(at string) bool {
	for _, p := range []string{"environment.systemPackages[", "home.packages[", "users.users."} {
		if strings.HasPrefix(at, p) && (p != "users.users." || strings.Contains(at, ".packages[") || strings.HasSuffix(at, ".shell")) {
			return true
		}
	}
	return strings.HasSuffix(at, ".package") || strings.Contains(at, ".path[")
}

func filesAsDefs(files []string) []nixerr.Def {
	out := make([]nixerr.Def, len(files))
	for i, f := range files {
		out[i] = nixerr.Def{File: f}
	}
	return out
}

// storePath matches a path in the Nix store: the store object and the
// path within it.
var storePath = regexp.MustCompile(`/nix/store/[0-9a-z]{32}-[^/\s'` + "`" + `]+((?:/[^\s'` + "`" + `:]+)*)`)

// generatedFile returns the generated file a path Nix names is, relative
// to the output directory: a file of the flake's copy in the store (the
// flake's root is the output directory, or a directory above it).
func (pl *placer) generatedFile(path string) (string, bool) {
	var rest string
	if m := storePath.FindStringSubmatch(path); m != nil && m[0] == path {
		rest = strings.TrimPrefix(m[1], "/")
	} else if r, err := filepath.Rel(pl.outDir, path); err == nil && !strings.HasPrefix(r, "..") {
		rest = filepath.ToSlash(r)
	}
	if rest == "" {
		return "", false
	}
	if pl.m.Has(rest) {
		return rest, true
	}
	if rel, err := filepath.Rel(pl.f.l.ModRoot, pl.outDir); err == nil {
		if r, ok := strings.CutPrefix(rest, filepath.ToSlash(rel)+"/"); ok {
			if pl.m.Has(r) {
				return r, true
			}
		}
	}
	return "", false
}

// rewrite replaces, in a message of Nix, the store paths of generated
// files by their paths in the fleet (nix/hosts/web.nix), which are stable
// and which the user can open.
func (pl *placer) rewrite(msg string) string {
	return storePath.ReplaceAllStringFunc(msg, func(p string) string {
		if g, ok := pl.generatedFile(p); ok {
			return pl.display(g)
		}
		return p
	})
}

// display returns a generated file's path relative to the fleet's root.
func (pl *placer) display(file string) string {
	abs := filepath.Join(pl.outDir, filepath.FromSlash(file))
	if rel, err := filepath.Rel(pl.f.l.ModRoot, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return abs
}

// lookup finds option in a generated file of host h. A home-manager
// option (home-manager.users.<user>.x) is looked for in the user's home
// file first: NixOS names the host's file for it, which imports the
// home file.
func (pl *placer) lookup(h *Host, file, option string) located {
	if rest, ok := strings.CutPrefix(option, "home-manager.users."); ok {
		user, sub, _ := strings.Cut(rest, ".")
		if u, err := strconv.Unquote(user); err == nil {
			user = u
		}
		uf := "users/" + user + "/" + h.Name + ".nix"
		if sub != "" {
			if e, ok := pl.m.ForOption(uf, sub); ok {
				return located{uf, e, true}
			}
		}
	}
	if e, ok := pl.m.ForOption(file, option); ok {
		return located{file, e, true}
	}
	return located{}
}

// hostFile is the generated module of host h.
func hostFile(h *Host) string { return "hosts/" + h.Name + ".nix" }

// byDefs locates a problem about option by its definitions: the one in a
// generated file, else the host's module.
func (pl *placer) byDefs(h *Host, option string, defs []nixerr.Def) located {
	for _, d := range defs {
		if g, ok := pl.generatedFile(d.File); ok {
			if loc := pl.lookup(h, g, option); loc.ok {
				return loc
			}
		}
	}
	return pl.lookup(h, hostFile(h), option)
}

// otherDef names the first definition that is not in a generated file.
func (pl *placer) otherDef(defs []nixerr.Def) string {
	for _, d := range defs {
		if _, ok := pl.generatedFile(d.File); !ok {
			if m := storePath.FindStringSubmatch(d.File); m != nil {
				return strings.TrimPrefix(m[1], "/")
			}
			return d.File
		}
	}
	return ""
}

// generatedValue is the value of the first definition in a generated
// file, as NixOS printed it.
func (pl *placer) generatedValue(defs []nixerr.Def) string {
	for _, d := range defs {
		if _, ok := pl.generatedFile(d.File); ok && d.Value != "" && !strings.Contains(d.Value, "\n") {
			return d.Value
		}
	}
	return ""
}

// byPosition locates a problem at a position of a generated file.
func (pl *placer) byPosition(at *nixerr.Location) located {
	if at == nil {
		return located{}
	}
	g, ok := pl.generatedFile(at.File)
	if !ok {
		return located{}
	}
	e, ok := pl.m.AtLine(g, at.Line, at.Col)
	return located{g, e, ok}
}

// byNames locates a message by the options it names (an assertion's or
// a warning's): the first it names that a generated file of the host
// defines, or failing that a set two levels up from one (the loader of
// boot.loader.grub.devices). A message of a user's home-manager is looked
// for in the user's file first.
func (pl *placer) byNames(h *Host, user, msg string) located {
	names := nixerr.OptionNames(msg)
	files := []string{hostFile(h)}
	if user != "" {
		files = append([]string{"users/" + user + "/" + h.Name + ".nix"}, files...)
	}
	for _, n := range names {
		for _, file := range files {
			if loc := pl.lookup(h, file, n); loc.ok {
				return loc
			}
		}
	}
	for _, n := range names {
		parts := strings.Split(n, ".")
		for i := len(parts) - 1; i >= 2; i-- {
			if loc := pl.lookup(h, hostFile(h), strings.Join(parts[:i], ".")); loc.ok {
				return loc
			}
		}
	}
	return located{}
}

// diagnostic makes the diagnostic of a problem of host h located at loc:
// at the user's position the source map gives, else at the host's
// declaration; the NixOS message and the generated position go with it.
func (pl *placer) diagnostic(h *Host, sev Severity, loc located, summary, fix, nixMsg string) Diagnostic {
	d := Diagnostic{Severity: sev}
	r := h.h.Decl
	path := []string{"hosts", h.Name}
	if loc.ok {
		if o, ok := pl.m.OriginOf(loc.entry); ok {
			r = diag.Range{File: filepath.Join(pl.f.l.ModRoot, filepath.FromSlash(o.File)), Start: diag.Pos{Line: o.Line, Col: o.Col}}
			r.End = r.Start
			if p, err := ParsePath(o.Path); err == nil && len(p) > 0 {
				path = p
			}
		}
		gen := Position{File: filepath.Join(pl.outDir, filepath.FromSlash(loc.file)), Line: loc.entry.Line, Column: loc.entry.Col}
		d.Related = append(d.Related, RelatedPosition{Pos: gen, Message: "generated here: " + loc.entry.At})
	}
	d.Pos = Position{File: r.File, Line: r.Start.Line, Column: r.Start.Col, Offset: r.Start.Offset}
	d.End = d.Pos
	d.Path = path
	d.Summary = formatPath(path) + ": " + summary
	var detail []string
	if fix != "" {
		detail = append(detail, "fix: "+fix)
	}
	for i, l := range strings.Split(strings.TrimRight(pl.rewrite(nixMsg), "\n"), "\n") {
		if i == 0 {
			detail = append(detail, "NixOS: "+l)
		} else {
			detail = append(detail, strings.TrimRight("       "+l, " "))
		}
	}
	d.Detail = strings.Join(detail, "\n")
	return d
}

// failure is the diagnostic of a nix command that failed without an
// evaluation error to show (nix missing, a lock file that needs
// changing).
func (pl *placer) failure(h *Host, err error) Diagnostic {
	return pl.diagnostic(h, Error, located{}, "evaluating the host failed: "+firstLine(pl.rewrite(nixFailure(err))), "", "")
}

// NixProblems returns the errors and warnings in what a nix command
// printed on standard error while it evaluated or built host's system
// from the fleet's generated tree in outDir, each at the user's CUE
// position, through the tree's source map: the way Check reports them,
// for Build and Deploy. It returns nil when there is no source map.
func (f *Fleet) NixProblems(outDir, host, stderr string) Errors {
	h := f.byName[host]
	if h == nil {
		return nil
	}
	m, err := readSourceMap(outDir)
	if err != nil {
		return nil
	}
	pl := &placer{f: f, m: m, outDir: outDir}
	var out Errors
	for _, p := range nixerr.Parse(stderr) {
		out = append(out, pl.place(h, p)...)
	}
	return out
}

// placeNixErrors sets the Problems of the results' errors of the nix
// evaluations and builds of the generated flake (flake is the flake the
// driver was given; empty for the generated one).
func (f *Fleet) placeNixErrors(rs []HostResult, flake string) []HostResult {
	if flake == "" {
		for _, r := range rs {
			f.placeNixError(r.Err)
		}
	}
	return rs
}

// placeNixError sets the Problems of err, a *HostError of a step that
// ran nix on the generated flake.
func (f *Fleet) placeNixError(err error) {
	var he *HostError
	if !errors.As(err, &he) || he.Stderr == "" || he.Step != string(build.OpEval) && he.Step != string(build.OpBuild) {
		return
	}
	if out, err := f.outDir(); err == nil {
		he.Problems = f.NixProblems(out, he.Host, he.Stderr)
	}
}

// outDir returns the absolute output directory of the generated tree.
func (f *Fleet) outDir() (string, error) {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return "", err
	}
	if filepath.IsAbs(s.Output) {
		return s.Output, nil
	}
	return filepath.Join(f.l.ModRoot, s.Output), nil
}
