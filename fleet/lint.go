package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
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
	// Fix applies safe fixes, and guarded fixes whose guard holds, and
	// returns the fixed files in LintResult.Fixed; findings are those of
	// the fixed files.
	Fix bool
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
}

// A FixedFile is a Nix file changed by fixes.
type FixedFile struct {
	Name  string
	Src   []byte
	Fixes int
}

// config is LintOptions resolved against the rules.
type config struct {
	rules []*lint.Rule
	by    map[*lint.Rule]RuleConfig
	dir   string
}

func newConfig(dir string, opts LintOptions) (*config, error) {
	c := &config{by: map[*lint.Rule]RuleConfig{}, dir: dir}
	for k, rc := range opts.Rules {
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

func (c *config) convert(ds []lint.Diagnostic) Errors {
	var out diag.List
	for _, d := range ds {
		if !c.applies(d) {
			continue
		}
		sev := d.Severity
		switch c.by[d.Rule].Severity {
		case "error":
			sev = diag.Error
		case "warning":
			sev = diag.Warning
		case "info":
			sev = diag.Info
		}
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
// for *.nix, hidden directories skipped) with every configured source
// rule. Unreadable paths are an error; findings are not.
func LintNix(ctx context.Context, paths []string, opts LintOptions) (*LintResult, error) {
	cwd, _ := os.Getwd()
	c, err := newConfig(cwd, opts)
	if err != nil {
		return nil, err
	}
	files, err := nixFiles(paths, false)
	if err != nil {
		return nil, err
	}
	return c.lintFiles(ctx, files, opts.Fix)
}

// nixFiles expands paths into .nix files. With skipGenerated, files that
// start with fleet's "Code generated" header are left out.
func nixFiles(paths []string, skipGenerated bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "cue.mod") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".nix") {
				return nil
			}
			if skipGenerated && hasGeneratedHeader(name) {
				return nil
			}
			out = append(out, name)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasGeneratedHeader(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	return bytes.HasPrefix(buf[:n], []byte("# Code generated"))
}

func (c *config) lintFiles(ctx context.Context, names []string, fix bool) (*LintResult, error) {
	res := &LintResult{}
	var files []*lint.File
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if fix {
			out, applied, err := lint.FixSource(c.rules, name, src)
			if err != nil {
				return nil, err
			}
			if len(applied) > 0 {
				res.Fixed = append(res.Fixed, FixedFile{Name: name, Src: out, Fixes: len(applied)})
				src = out
			}
		}
		files = append(files, lint.Parse(name, src))
	}
	res.Diagnostics = c.convert(lint.Run(c.rules, files))
	res.Files = len(files)
	return res, nil
}

// Lint checks the fleet: the fleet value rules over every host's merged
// value, each finding placed at the CUE that set the value, and the
// source rules over every hand-written .nix file under the fleet's
// directory (files fleet generated are skipped).
func (f *Fleet) Lint(ctx context.Context, opts LintOptions) (*LintResult, error) {
	dir := f.l.ModRoot
	c, err := newConfig(dir, opts)
	if err != nil {
		return nil, err
	}
	var hosts []*lint.Host
	for _, h := range f.hosts {
		v, err := h.Value()
		if err != nil {
			return nil, err
		}
		h := h
		hosts = append(hosts, &lint.Host{Name: h.Name, Value: v, Where: func(p []string) (diag.Range, string) {
			return f.where(h, p)
		}})
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
	var settings any
	if json.Unmarshal(f.l.Settings, &settings) == nil {
		fleetData["settings"] = settings
	}
	values := c.convert(lint.RunFleet(c.rules, hosts, fleetData))
	files, err := nixFiles([]string{dir}, true)
	if err != nil {
		return nil, err
	}
	res, err := c.lintFiles(ctx, files, opts.Fix)
	if err != nil {
		return nil, err
	}
	res.Diagnostics = append(values, res.Diagnostics...)
	return res, nil
}

// where returns the position that set the value at p in h, from Explain's
// provenance, or the host's declaration.
func (f *Fleet) where(h *Host, p []string) (diag.Range, string) {
	for len(p) > 0 {
		prov, err := f.Explain(h.Name, formatPath(p))
		if err == nil && len(prov) > 0 && prov[0].Set.Pos.Line > 0 {
			s := prov[0].Set
			return diag.Range{File: s.Pos.File, Start: toPos(s.Pos), End: toPos(s.Pos)}, s.Source
		}
		p = p[:len(p)-1]
	}
	return h.h.Decl, ""
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
	c, err := newConfig(outDir, LintOptions{})
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
