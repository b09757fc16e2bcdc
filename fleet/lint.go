package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A LintRule describes one lint rule for people and tools.
type LintRule struct {
	// ID is the stable identifier ("NS301"), Name the readable one
	// ("unused-let-binding").
	ID, Name string
	// Summary is the first line of Doc.
	Summary string
	// Doc is the full documentation.
	Doc string
	// URL points to further reading, if any.
	URL string
	// Severity is the default severity.
	Severity Severity
	// Fleet is set for rules over fleet values rather than Nix files.
	Fleet bool
}

func lintRule(r *lint.Rule) LintRule {
	return LintRule{ID: r.ID, Name: r.Name, Summary: r.Summary(), Doc: r.Doc, URL: r.URL,
		Severity: Severity(r.Severity), Fleet: r.RunFleet != nil}
}

// LintRules returns every lint rule, in catalogue order.
func LintRules() []LintRule {
	out := make([]LintRule, len(rules.All))
	for i, r := range rules.All {
		out[i] = lintRule(r)
	}
	return out
}

// LookupLintRule returns the rule whose ID or name is s, ignoring case.
func LookupLintRule(s string) (LintRule, bool) {
	r := lint.Lookup(rules.All, s)
	if r == nil {
		return LintRule{}, false
	}
	return lintRule(r), true
}

// A RuleConfig adjusts one rule.
type RuleConfig struct {
	// Off turns the rule off.
	Off bool
	// Severity, when set ("error", "warning", "info"), replaces the
	// rule's severity.
	Severity string
	// Paths, when set, limits a source rule to files matching one of
	// these slash-separated patterns (path.Match, or dir/... for a tree),
	// relative to the directory linted.
	Paths []string
}

// LintOptions configure a lint run.
type LintOptions struct {
	// Fix applies safe fixes, and guarded fixes whose guard holds, of
	// findings at least as severe as FixLevel, and returns the fixed
	// files in LintResult.Fixed; findings are those of the fixed files.
	// What a fix wrote is laid out canonically: the whole file when it
	// was canonical before, else the bindings the fixes wrote in. Files
	// that say they are generated ("# Code generated … DO NOT EDIT.",
	// nixos-generate-config's "Do not modify this file!") are not fixed.
	Fix bool
	// FixLevel is the least severity whose findings Fix fixes; the zero
	// value, Info, fixes every finding. fleetgen lint --fix uses Warning.
	FixLevel Severity
	// Rules configures rules by ID or name.
	Rules map[string]RuleConfig
}

// A LintResult is what a lint run found.
type LintResult struct {
	// Diagnostics are the findings, sorted by file and position. Code is
	// the rule's ID; Detail names the rule and any fix offered.
	Diagnostics Errors
	// Fixed are the files Fix changed, with their new contents. Nothing
	// is written: the caller decides.
	Fixed []FixedFile
	// Files is the number of Nix files linted.
	Files int
	// Skipped are the files left alone (not regular, a symlink out of
	// the tree, too large) or, with Fix, left unfixed, and why.
	Skipped []SkippedFile
}

// A FixedFile is a Nix file changed by fixes.
type FixedFile struct {
	// Name is the file as found; Path the regular file to write, which
	// differs when Name is a symlink (inside the tree) to it.
	Name, Path string
	Src        []byte
	Fixes      int
}

// config is LintOptions resolved against the rules.
type config struct {
	rules []*lint.Rule
	by    map[*lint.Rule]RuleConfig
	dir   string
}

// newConfig resolves rule configurations against the rules. layers are
// applied in order: for one rule, a later layer's configuration replaces
// an earlier one's (the command line over settings.lint).
func newConfig(dir string, layers ...map[string]RuleConfig) (*config, error) {
	c := &config{by: map[*lint.Rule]RuleConfig{}, dir: dir}
	for _, layer := range layers {
		for _, k := range sortedNames(layer) {
			rc := layer[k]
			r := lint.Lookup(rules.All, k)
			if r == nil {
				return nil, fmt.Errorf("lint configuration names unknown rule %q", k)
			}
			switch rc.Severity {
			case "", "error", "warning", "info":
			default:
				return nil, fmt.Errorf("lint configuration of %s: unknown severity %q", r.ID, rc.Severity)
			}
			c.by[r] = rc
		}
	}
	for _, r := range rules.All {
		rc, set := c.by[r]
		if rc.Off || (r.Off && !set) {
			continue
		}
		c.rules = append(c.rules, r)
	}
	return c, nil
}

// applies reports whether the finding d of a rule passes its path filter.
func (c *config) applies(d lint.Diagnostic) bool {
	rc := c.by[d.Rule]
	if len(rc.Paths) == 0 || d.Range.File == "" {
		return true
	}
	rel := filepath.ToSlash(d.Range.File)
	if r, err := filepath.Rel(c.dir, d.Range.File); err == nil && !strings.HasPrefix(r, "..") {
		rel = filepath.ToSlash(r)
	}
	for _, p := range rc.Paths {
		if tree, ok := strings.CutSuffix(p, "/..."); ok && (rel == tree || strings.HasPrefix(rel, tree+"/") || tree == ".") {
			return true
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}

// severity returns the severity of d as configured.
func (c *config) severity(d lint.Diagnostic) diag.Severity {
	switch c.by[d.Rule].Severity {
	case "error":
		return diag.Error
	case "warning":
		return diag.Warning
	case "info":
		return diag.Info
	}
	return d.Severity
}

func (c *config) convert(ds []lint.Diagnostic) Errors {
	var out diag.List
	for _, d := range ds {
		if !c.applies(d) {
			continue
		}
		sev := c.severity(d)
		detail := "rule " + d.Rule.ID + " (" + d.Rule.Name + "); fleetgen lint --explain " + d.Rule.ID
		for _, fx := range d.Fixes {
			detail += "\nfix (" + fx.Kind.String() + "): " + fx.Message
		}
		var p []string
		if d.Host != "" {
			p = append([]string{"hosts", d.Host}, d.Path...)
		} else if len(d.Path) > 0 {
			p = d.Path
		}
		out = append(out, diag.Diagnostic{Severity: sev, Range: d.Range, Summary: d.Message, Detail: detail,
			Code: d.Rule.ID, Path: p, Related: d.Related})
	}
	return fromDiag(out)
}

// LintNix lints the Nix files named by paths (files, or directories walked
// for *.nix, hidden files and directories skipped) with every configured
// source rule. A symlink is followed only to a file inside the directory
// walked or, for a file named directly, inside the working directory;
// files that are not regular are never opened. What is left alone is in
// LintResult.Skipped. A path that does not exist is an error; findings
// are not.
func LintNix(ctx context.Context, paths []string, opts LintOptions) (*LintResult, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	c, err := newConfig(cwd, opts.Rules)
	if err != nil {
		return nil, err
	}
	files, skipped, err := NixFiles(cwd, paths)
	if err != nil {
		return nil, err
	}
	res, err := c.lintFiles(ctx, files, opts)
	if err != nil {
		return nil, err
	}
	res.Skipped = append(skipped, res.Skipped...)
	return res, nil
}

// lintFiles lints the files. Files stream through read, fix, parse and
// rules on several goroutines (one per CPU, at most 8), each file dropped
// once linted, so memory follows the files in flight, not the tree;
// findings, fixes and skipped files come out in the same order whatever
// the timing.
func (c *config) lintFiles(ctx context.Context, nixFiles []NixFile, opts LintOptions) (*LintResult, error) {
	type result struct {
		diags   []lint.Diagnostic
		fixed   *FixedFile
		skipped *SkippedFile
		parsed  bool
		err     error
	}
	results := make([]result, len(nixFiles))
	forEach(len(nixFiles), func(i int) {
		r := &results[i]
		if r.err = ctx.Err(); r.err != nil {
			return
		}
		nf := nixFiles[i]
		src, err := ReadNixFile(nf.Path)
		if err != nil {
			r.skipped = &SkippedFile{Name: nf.Name, Reason: err.Error()}
			return
		}
		if opts.Fix {
			fixed, n, err := c.fix(nf.Name, src, opts.FixLevel)
			if err != nil {
				r.err = err
				return
			}
			if line, gen := generatedBy(src); gen && n > 0 {
				r.skipped = &SkippedFile{Name: nf.Name,
					Reason: fmt.Sprintf("not fixed: it says it is generated (%q)", line)}
			} else if n > 0 {
				r.fixed = &FixedFile{Name: nf.Name, Path: nf.Path, Src: fixed, Fixes: n}
				src = fixed
			}
		}
		r.diags = lint.RunFile(c.rules, lint.Parse(nf.Name, src))
		r.parsed = true
	})
	res := &LintResult{}
	var diags []lint.Diagnostic
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.skipped != nil {
			res.Skipped = append(res.Skipped, *r.skipped)
		}
		if r.parsed {
			res.Files++
		}
		if r.fixed != nil {
			res.Fixed = append(res.Fixed, *r.fixed)
		}
		diags = append(diags, r.diags...)
	}
	lint.Sort(diags)
	res.Diagnostics = c.convert(diags)
	return res, nil
}

// fix applies the fixes of the findings in src, the Nix file name, that
// are at least as severe as level and that the configuration reports,
// and lays out what they wrote: the whole file when it was in canonical
// layout before (so that it stays so), else only the bindings the fixes
// wrote in (so that a file laid out by hand keeps its layout). It
// returns the fixed source and how many fixes it applied.
func (c *config) fix(name string, src []byte, level Severity) ([]byte, int, error) {
	res, err := lint.FixFile(c.rules, name, src, lint.FixOptions{Apply: func(d lint.Diagnostic) bool {
		return c.applies(d) && Severity(c.severity(d)) >= level
	}})
	if err != nil {
		return nil, 0, err
	}
	if len(res.Applied) == 0 {
		return src, 0, nil
	}
	out := res.Src
	f, errs := syntax.Parse(name, out)
	if len(grammarErrors(errs)) > 0 {
		return out, len(res.Applied), nil // a broken file is fixed, not laid out
	}
	if canon, err := format.Source(src); err == nil && bytes.Equal(canon, src) {
		var b bytes.Buffer
		if format.Node(&b, f) == nil {
			out = b.Bytes()
		}
	} else {
		spans := make([]format.Span, len(res.Touched))
		for i, t := range res.Touched {
			spans[i] = format.Span{Pos: t.Pos, End: t.End}
		}
		if laid, err := format.Regions(f, spans); err == nil {
			out = laid
		}
	}
	return out, len(res.Applied), nil
}

// Lint checks the fleet. It runs the fleet value rules over every host's
// merged value, each finding placed at the CUE that set the value; the
// source rules over every raw Nix expression ({$nix: …}) in the hosts'
// values, each finding placed in the CUE string; and the source rules
// over the hand-written Nix files of the fleet: the files those
// expressions reference by relative path (nixos.imports, import ./x.nix),
// wherever they are, and every other .nix file under the fleet's module
// that fleet did not generate.
//
// Rules are configured by settings.lint in the fleet's CUE, and then by
// opts.Rules, which wins for a rule both name.
func (f *Fleet) Lint(ctx context.Context, opts LintOptions) (*LintResult, error) {
	dir := f.l.ModRoot
	var s struct {
		settings
		Lint map[string]RuleConfig `json:"lint"`
	}
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return nil, fmt.Errorf("reading settings: %v", err)
	}
	c, err := newConfig(dir, s.Lint, opts.Rules)
	if err != nil {
		return nil, err
	}
	outDir := s.Output
	if outDir == "" {
		outDir = "nix"
	}
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(dir, outDir)
	}
	var hosts []*lint.Host
	for _, h := range f.hosts {
		lh, err := f.lintHost(h)
		if err != nil {
			return nil, err
		}
		lh.Recorded = recorded(filepath.Join(outDir, "hosts", h.Name+".nix"))
		lh.Fixed = fixedOf(h)
		lh.Leaves = func(p []string) []lint.Leaf { return leavesOf(h, p) }
		hosts = append(hosts, lh)
	}
	fleetData := map[string]any{}
	secrets := map[string]any{}
	for name, js := range f.l.Secrets {
		var v any
		if json.Unmarshal(js, &v) == nil {
			secrets[name] = v
		}
	}
	fleetData["secrets"] = secrets
	var settingsData any
	if json.Unmarshal(f.l.Settings, &settingsData) == nil {
		fleetData["settings"] = settingsData
	}
	values := c.convert(lint.RunFleet(c.rules, hosts, fleetData, func(path []string) diag.Range {
		return f.l.Decls[formatPath(path)]
	}))
	snippets := f.rawNix(outDir)
	var sf []*lint.File
	for _, sn := range snippets {
		sf = append(sf, sn.file)
	}
	var inSnippets []lint.Diagnostic
	for _, d := range lint.Run(c.rules, sf) {
		for _, sn := range snippets {
			if sn.file.Syntax.Name == d.Range.File {
				inSnippets = append(inSnippets, sn.place(d))
				break
			}
		}
	}
	// lint.Run sorted them by the snippets' names, which hold the line as
	// text ("hosts.cue:10:..." before "hosts.cue:9:..."): sort them again,
	// placed.
	sort.SliceStable(inSnippets, func(i, j int) bool {
		a, b := inSnippets[i].Range, inSnippets[j].Range
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Start.Line != b.Start.Line {
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Col < b.Start.Col
	})
	// Referenced files first, then the rest of the module's own files.
	// A referenced file is read where it is, as the fleet names it; a
	// symlink only to a file inside the module.
	files, skipped, err := nixFiles(dir, []string{dir}, true)
	if err != nil {
		return nil, err
	}
	root, err := realDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var all []NixFile
	for _, sn := range snippets {
		for _, r := range sn.refs {
			info, err := os.Lstat(r)
			if err != nil {
				continue
			}
			nf, why := resolveNix(r, root, "the module", info.Mode().Type())
			switch {
			case why != "":
				skipped = append(skipped, SkippedFile{Name: r, Reason: why})
			case !seen[nf.Path]:
				seen[nf.Path] = true
				all = append(all, nf)
			}
		}
	}
	for _, nf := range files {
		if !seen[nf.Path] {
			seen[nf.Path] = true
			all = append(all, nf)
		}
	}
	res, err := c.lintFiles(ctx, all, opts)
	if err != nil {
		return nil, err
	}
	res.Skipped = append(skipped, res.Skipped...)
	res.Diagnostics = append(append(values, c.convert(inSnippets)...), res.Diagnostics...)
	return res, nil
}

// A snippet is one raw Nix expression of a host value, parsed for lint.
type snippet struct {
	file *lint.File
	host string
	path []string
	// at is where the value is set; lit, when valid, where the
	// expression's first byte is in a one-line CUE string that holds it
	// verbatim, so that columns map one to one.
	at, lit diag.Pos
	cue     string
	// refs are the existing files the expression names by path,
	// absolute and cleaned.
	refs []string
}

// rawNix returns the raw Nix expressions of the hosts' final values,
// once per place written, skipping those of fleet's own schema. Each is
// placed at the leaf of the host's provenance tree that holds it or, for
// an expression the tree does not record (such as one in
// nixos.imports), at the nearest place it does. out is the absolute output directory, where
// the generated files that will hold the expressions live: relative
// paths in them resolve from there.
func (f *Fleet) rawNix(out string) []*snippet {
	var list []*snippet
	type key struct {
		at  diag.Range
		src string
	}
	seen := map[key]bool{}
	sources := map[string][]byte{}
	for _, h := range f.hosts {
		v, err := h.Value()
		if err != nil {
			continue
		}
		var walk func(path []string, v any)
		walk = func(path []string, v any) {
			switch v := v.(type) {
			case map[string]any:
				if src, ok := v["$nix"].(string); ok && len(v) == 1 {
					r, ok := f.placeOf(h, path)
					if ok && f.ownFile(r.File) && !seen[key{r, src}] {
						seen[key{r, src}] = true
						list = append(list, f.newSnippet(h.Name, path, r, src, out, sources))
					}
					return
				}
				for _, k := range sortedNames(v) {
					walk(append(path[:len(path):len(path)], k), v[k])
				}
			case []any:
				for i, e := range v {
					walk(append(path[:len(path):len(path)], strconv.Itoa(i)), e)
				}
			}
		}
		walk(nil, v)
	}
	return list
}

// placeOf returns where the value at path of h was written: the leaf of
// the provenance tree at path or above it, the declaration in the
// fleet's own files of the nearest struct around it, or else the host's
// declaration.
func (f *Fleet) placeOf(h *Host, path []string) (diag.Range, bool) {
	for i := len(path); i > 0; i-- {
		n := h.tree().Lookup(path[:i]...)
		if n == nil {
			continue
		}
		// A leaf at path is where the expression was written, in the
		// fleet's files or the schema's; a leaf above it (a list) is
		// only if the fleet's files wrote it.
		if n.IsLeaf() && (i == len(path) || f.ownFile(n.Leaf().Range.File)) {
			return n.Leaf().Range, true
		}
		if d := n.Decl(); d != nil && f.ownFile(d.Range.File) {
			return d.Range, true
		}
	}
	return h.h.Decl, h.h.Decl.Start.IsValid()
}

// newSnippet parses the expression src written at r for host at path.
// sources caches the CUE files read.
func (f *Fleet) newSnippet(host string, path []string, r diag.Range, src, out string, sources map[string][]byte) *snippet {
	sn := &snippet{host: host, path: path, at: r.Start, cue: r.File}
	name := fmt.Sprintf("%s:%d:%d", r.File, r.Start.Line, r.Start.Col)
	name += ":" + strings.Join(path, ".")
	sn.file = lint.ParseExpr(name, []byte(src), emit.ModuleArgs...)
	if _, ok := sources[r.File]; !ok {
		sources[r.File], _ = os.ReadFile(r.File)
	}
	sn.lit = literalAt(sources[r.File], r.Start, src)
	// Expressions land in hosts/<host>.nix, or in users/<user>/<host>.nix
	// for a user's home.
	from := filepath.Join(out, "hosts")
	if len(path) >= 3 && path[0] == "users" && path[2] == "home" {
		from = filepath.Join(out, "users", path[1])
	}
	sn.refs = pathRefs(sn.file.Syntax, from)
	return sn
}

// ownFile reports whether name is one of the fleet's own CUE files, not
// the schema fleet injects under cue.mod.
func (f *Fleet) ownFile(name string) bool {
	rel, err := filepath.Rel(f.l.ModRoot, name)
	if err != nil || name == "" {
		return false
	}
	rel = filepath.ToSlash(rel)
	return !strings.HasPrefix(rel, "../") && !strings.HasPrefix(rel, "cue.mod/")
}

// literalAt returns where, in the CUE source src, the one-line string
// literal holding expr verbatim starts its contents, searching from the
// field at. It returns the zero Pos when the literal has escapes, spans
// lines or is not found.
func literalAt(src []byte, at diag.Pos, expr string) diag.Pos {
	if at.Offset < 0 || at.Offset >= len(src) {
		return diag.Pos{}
	}
	rest := src[at.Offset:]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	i := bytes.Index(rest, []byte(`"`+expr+`"`))
	if i < 0 || strings.ContainsAny(expr, "\\\"") {
		return diag.Pos{}
	}
	// Columns count bytes, as the Nix positions do.
	return diag.Pos{Line: at.Line, Col: at.Col + i + 1, Offset: at.Offset + i + 1}
}

// place moves a finding of the snippet's expression to the CUE that holds
// it: to the exact columns when the string is verbatim, else to the
// field, naming the column of the expression.
func (sn *snippet) place(d lint.Diagnostic) lint.Diagnostic {
	d.Host, d.Path, d.Fixes = sn.host, sn.path, nil
	if sn.lit.IsValid() && d.Range.Start.Line == 1 && d.Range.End.Line <= 1 {
		start, end := d.Range.Start, d.Range.End
		d.Range.Start = diag.Pos{Line: sn.lit.Line, Col: sn.lit.Col + start.Col - 1, Offset: sn.lit.Offset + start.Offset}
		d.Range.End = diag.Pos{}
		if end.IsValid() {
			d.Range.End = diag.Pos{Line: sn.lit.Line, Col: sn.lit.Col + end.Col - 1, Offset: sn.lit.Offset + end.Offset}
		}
	} else {
		d.Message += fmt.Sprintf(" (line %d, column %d of the raw Nix expression)", d.Range.Start.Line, d.Range.Start.Col)
		d.Range.Start, d.Range.End = sn.at, diag.Pos{}
	}
	d.Range.File = sn.cue
	return d
}

// pathRefs returns the existing files the relative and absolute path
// literals of f name, resolved from dir; a directory stands for its
// default.nix.
func pathRefs(f *syntax.File, dir string) []string {
	var out []string
	syntax.Inspect(f, func(n syntax.Node) bool {
		p, ok := n.(*syntax.PathExpr)
		if !ok || len(p.Parts) != 1 {
			return true
		}
		t, ok := p.Parts[0].(*syntax.Text)
		if !ok || t.Tok == nil {
			return true
		}
		name := t.Tok.Text
		switch {
		case strings.HasPrefix(name, "/"):
		case strings.HasPrefix(name, "./"), strings.HasPrefix(name, "../"):
			name = filepath.Join(dir, filepath.FromSlash(name))
		default:
			return true
		}
		name = filepath.Clean(name)
		if info, err := os.Stat(name); err == nil && info.IsDir() {
			name = filepath.Join(name, "default.nix")
		}
		if info, err := os.Stat(name); err == nil && info.Mode().IsRegular() && strings.HasSuffix(name, ".nix") {
			out = append(out, name)
		}
		return true
	})
	return out
}

// recorded reads the values FV12 compares from name, a host's generated
// configuration, if fleet generated it.
func recorded(name string) map[string]lint.Recorded {
	src, err := ReadNixFile(name)
	if err != nil || !bytes.HasPrefix(src, []byte(generatedHeader)) {
		return nil
	}
	sf, errs := syntax.Parse(name, src)
	if len(errs) > 0 {
		return nil
	}
	out := map[string]lint.Recorded{}
	x := sf.Expr
	if l, ok := x.(*syntax.Lambda); ok {
		x = l.Body
	}
	var walk func(prefix string, s *syntax.AttrSet)
	walk = func(prefix string, s *syntax.AttrSet) {
		for _, b := range s.Bindings {
			a, ok := b.(*syntax.Attr)
			if !ok || a.Path == nil {
				continue
			}
			p := prefix
			for _, n := range a.Path.Names {
				id, ok := n.(*syntax.Ident)
				if !ok {
					p = ""
					break
				}
				p += "." + id.Tok.Text
			}
			switch v := a.Value.(type) {
			case *syntax.AttrSet:
				if p != "" {
					walk(p, v)
				}
			case *syntax.String:
				if p == ".system.stateVersion" {
					if text, err := syntax.StringValue(v); err == nil {
						out["system.stateVersion"] = lint.Recorded{Value: text, Range: diag.Range{File: name,
							Start: sf.Position(v.Pos()), End: sf.Position(v.End())}}
					}
				}
			}
		}
	}
	if s, ok := x.(*syntax.AttrSet); ok {
		walk("", s)
	}
	return out
}

// fixedOf returns the paths of h its template and profiles mark fixed.
func fixedOf(h *Host) []lint.Fixed {
	var out []lint.Fixed
	for _, fp := range h.h.Fixed {
		out = append(out, lint.Fixed{Path: fp.Path, Layer: fp.Source.String(), Range: fp.Range})
	}
	return out
}

// leavesOf returns the leaves of h's provenance tree at or below p.
func leavesOf(h *Host, p []string) []lint.Leaf {
	n := h.tree().Lookup(p...)
	if n == nil {
		return nil
	}
	origin := func(o *merge.Origin) lint.Origin {
		return lint.Origin{Kind: o.Source.Layer.String(), Layer: o.Source.String(), Range: o.Range, Value: o.Value, Doc: o.Doc}
	}
	var out []lint.Leaf
	n.Leaves(p, func(path []string, n *merge.Node) {
		l := lint.Leaf{Path: path, Set: origin(n.Leaf())}
		for i := range n.Overridden {
			l.Overridden = append(l.Overridden, origin(&n.Overridden[i]))
		}
		out = append(out, l)
	})
	return out
}

// where returns the position that set the value at p in h, from Explain's
// provenance, or the host's declaration.
func (f *Fleet) where(h *Host, p []string) (diag.Range, string) {
	if node, depth := h.tree().Nearest(p); node != nil && depth > 0 && depth < len(p) {
		// The value is the schema's default: the place to change it is
		// the nearest struct above it the user wrote, and no layer set
		// it.
		if o := node.Decl(); o != nil && o.Range.Start.IsValid() {
			return o.Range, ""
		}
	}
	for len(p) > 0 {
		prov, err := f.Explain(h.Name, formatPath(p))
		for _, pr := range prov {
			// A schema default is written in the schema, not by the
			// user: the place to change it is the nearest one above
			// that the user wrote.
			if s := pr.Set; err == nil && s.Pos.Line > 0 && s.Layer != merge.Schema.String() {
				return diag.Range{File: s.Pos.File, Start: toPos(s.Pos), End: toPos(s.Pos)}, s.Source
			}
		}
		p = p[:len(p)-1]
	}
	return h.h.Decl, ""
}

// listenersOf returns the sockets h's enabled services listen on, as the
// schema computes them, sorted by port, protocol and service.
func listenersOf(h *Host) ([]lint.Listener, error) {
	if len(h.h.Listeners) == 0 {
		return nil, nil
	}
	var m map[string]struct {
		Service  string `json:"service"`
		Port     int    `json:"port"`
		Protocol string `json:"protocol"`
		Address  string `json:"address"`
		Field    string `json:"field"`
	}
	if err := json.Unmarshal(h.h.Listeners, &m); err != nil {
		return nil, fmt.Errorf("hosts.%s: reading #listeners: %v", h.Name, err)
	}
	out := make([]lint.Listener, 0, len(m))
	for _, name := range sortedNames(m) {
		l := m[name]
		out = append(out, lint.Listener{Service: l.Service, Port: l.Port, Protocol: l.Protocol, Address: l.Address,
			Path: strings.Split(l.Field, ".")})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Protocol < out[j].Protocol
	})
	return out, nil
}

// checkPorts reports, as vet errors, two services of one host that listen
// on one port and address: lint's FV04 over the schema's listener table.
func (f *Fleet) checkPorts(of []*Host) diag.List {
	var hosts []*lint.Host
	var diags diag.List
	for _, h := range of {
		ls, err := listenersOf(h)
		if err != nil {
			diags.Errorf(h.h.Decl, "%v", err)
			continue
		}
		h := h
		hosts = append(hosts, &lint.Host{Name: h.Name, Listeners: ls,
			Where:  func(p []string) (diag.Range, string) { return f.where(h, p) },
			Leaves: func(p []string) []lint.Leaf { return leavesOf(h, p) }})
	}
	for _, d := range lint.RunFleet([]*lint.Rule{rules.PortCollision}, hosts, nil, nil) {
		var related []diag.Related
		for _, r := range d.Related {
			if r.Range != d.Range {
				related = append(related, r)
			}
		}
		diags.Add(diag.Diagnostic{Severity: diag.Error, Range: d.Range, Summary: "hosts." + d.Message, Path: append([]string{"hosts", d.Host}, d.Path...),
			Detail:  "the second fails to start (address already in use): give one of them another port",
			Related: related})
	}
	return diags
}

// LintGenerated lints, in memory, the Nix files Generate would write, with
// every source rule. fleet's output is meant to be clean by construction:
// any finding here is a bug in fleet, not in the user's fleet. The fleet
// must be loaded with Config.NixOS.
func (f *Fleet) LintGenerated(ctx context.Context) (*LintResult, error) {
	files, outDir, err := f.files("")
	if err != nil {
		return nil, err
	}
	c, err := newConfig(outDir)
	if err != nil {
		return nil, err
	}
	var lf []*lint.File
	for _, file := range files {
		if !strings.HasSuffix(file.Path, ".nix") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lf = append(lf, lint.Parse(filepath.Join(outDir, filepath.FromSlash(file.Path)), file.Data))
	}
	return &LintResult{Diagnostics: c.convert(lint.Run(c.rules, lf)), Files: len(lf)}, nil
}

// isModule reports whether dir is the root of a CUE module of its own.
func isModule(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cue.mod", "module.cue"))
	return err == nil
}

// InModule reports whether dir is inside a CUE module (a directory at or
// above it holds cue.mod/module.cue), as fleet commands that load a
// fleet need.
func InModule(dir string) bool {
	_, err := moduleRoot(dir)
	return err == nil
}
