package cli

import (
	"fmt"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "lint",
		args:  lintArgs,
		short: "find anti-patterns in fleet values and hand-written Nix; --fix applies safe fixes",
		run:   runLint,
	})
}

// lintScope says what each form of the command lints.
const lintScope = `
With CUE packages (no arguments, ".", or a pattern ending in /...), lint
checks the fleet: the fleet value rules over every host's merged value;
the Nix rules over every raw Nix expression ({$nix: ...}) in the hosts'
values, reported in the CUE string; over the hand-written files those
expressions name by path (nixos.imports, import ./x.nix), wherever they
are; and over every other .nix file under the module that fleetgen did
not generate. settings.lint in the fleet configures rules (off,
severity, paths); --disable wins over it.

Outside a CUE module, ".", "./..." and "DIR/..." name the Nix files of
those directories.

With paths, lint checks those Nix files, and the .nix files of those
directories (hidden ones skipped). A symlink is followed only to a file
inside the directory given (for a file named directly, the working
directory); a file that is not regular, such as a named pipe, is never
opened. What is left alone is said on standard error.

--fix applies the fixes of findings at least as severe as --fix-level
(default warning: info-level restructurings are only suggested unless
asked for), then lays out what the fixes wrote in fleetgen fmt's style:
the whole file when it was already formatted, else only the bindings the
fixes wrote in. Files that say they are generated ("# Code generated ...
DO NOT EDIT.", nixos-generate-config's "Do not modify this file!") are
not fixed.
`

const lintArgs = "[--format text|json|sarif] [--severity S] [--fix] [--fix-level L] [--explain RULE] [--rules] [./... | PATH...]"

func runLint(e *env, args []string) int {
	fs := e.flags("lint", lintArgs)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(e.stderr, lintScope)
	}
	format := fs.String("format", "text", "output format: text, json or sarif (SARIF 2.1.0)")
	severity := fs.String("severity", "warning", "exit 1 when a finding is at least this severe: info, warning or error")
	fix := fs.Bool("fix", false, "apply safe fixes, and guarded fixes whose guard holds, to the Nix files")
	fixLevel := fs.String("fix-level", "warning", "with --fix, fix findings at least this severe: info, warning or error")
	explain := fs.String("explain", "", "print the documentation of a rule (by ID or name) and exit")
	list := fs.Bool("rules", false, "list the rules and exit")
	var off multiFlag
	fs.Var(&off, "disable", "turn a rule off (by ID or name; repeatable)")
	pos, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if *explain != "" {
		r, ok := fleet.LookupLintRule(*explain)
		if !ok {
			return e.usageErr("lint", "unknown rule %q; fleetgen lint --rules lists them", *explain)
		}
		fmt.Fprintf(e.stdout, "%s %s (%s)\n\n%s\n", r.ID, r.Name, r.Severity, r.Doc)
		if r.URL != "" {
			fmt.Fprintf(e.stdout, "\nSee %s\n", r.URL)
		}
		return exitOK
	}
	if *list {
		for _, r := range fleet.LintRules() {
			fmt.Fprintf(e.stdout, "%-6s %-26s %-8s %s\n", r.ID, r.Name, r.Severity, r.Summary)
		}
		return exitOK
	}
	threshold, ok := parseSeverity(*severity)
	if !ok {
		return e.usageErr("lint", "unknown severity %q (want info, warning or error)", *severity)
	}
	switch *format {
	case "text", "json", "sarif":
	default:
		return e.usageErr("lint", "unknown format %q (want text, json or sarif)", *format)
	}
	level, ok := parseSeverity(*fixLevel)
	if !ok {
		return e.usageErr("lint", "unknown --fix-level %q (want info, warning or error)", *fixLevel)
	}
	opts := fleet.LintOptions{Fix: *fix, FixLevel: level, Rules: map[string]fleet.RuleConfig{}}
	for _, r := range off {
		opts.Rules[r] = fleet.RuleConfig{Off: true}
	}
	var res *fleet.LintResult
	var err error
	switch {
	case fleetMode(pos) && fleet.InModule(e.cwd):
		// With the hosts' NixOS configurations, which rules such as
		// FV14 (deploy-lockout) read.
		f, code := e.loadWith(e.config(pos, true))
		if f == nil {
			return code
		}
		res, err = f.Lint(e.ctx, opts)
	case fleetMode(pos):
		// No fleet here: the patterns name the Nix tree.
		res, err = fleet.LintNix(e.ctx, nixDirs(pos), opts)
	default:
		res, err = fleet.LintNix(e.ctx, pos, opts)
	}
	if err != nil {
		return e.report(err)
	}
	var other []error
	e.reportSkipped(res.Skipped, &other)
	for _, err := range other {
		e.report(err)
	}
	for _, fx := range res.Fixed {
		if err := writeKeepingMode(fx.Path, fx.Src); err != nil {
			return e.report(err)
		}
		fmt.Fprintf(e.stderr, "fixed %s (%s)\n", fleet.RelPath(e.cwd, fx.Name), plural(fx.Fixes, "fix", "fixes"))
	}
	switch *format {
	case "json":
		e.writeJSON(jsonFindings(e, res.Diagnostics))
	case "sarif":
		e.writeJSON(sarif(e, res.Diagnostics))
	default:
		text := make(fleet.Errors, len(res.Diagnostics))
		for i, d := range res.Diagnostics {
			d.Summary += " [" + d.Code + "]"
			text[i] = d
		}
		if len(text) > 0 {
			fleet.PrintErrors(e.stdout, e.cwd, text)
		}
	}
	for _, d := range res.Diagnostics {
		if d.Severity >= threshold {
			return exitFail
		}
	}
	if len(other) > 0 {
		return exitFail
	}
	return exitOK
}

// nixDirs turns package patterns (".", "./...", "dir/...") into the
// directories they name, for lint outside a CUE module.
func nixDirs(pkgs []string) []string {
	if len(pkgs) == 0 {
		return []string{"."}
	}
	var dirs []string
	for _, p := range pkgs {
		d := strings.TrimSuffix(strings.TrimSuffix(p, "..."), "/")
		if d == "" {
			d = "."
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// fleetMode reports whether the arguments name CUE packages (no
// arguments, ".", or a pattern ending in /...) rather than Nix paths.
func fleetMode(args []string) bool {
	if len(args) == 0 {
		return true
	}
	for _, a := range args {
		if a != "." && !strings.HasSuffix(a, "...") {
			return false
		}
	}
	return true
}

func parseSeverity(s string) (fleet.Severity, bool) {
	switch s {
	case "info":
		return fleet.Info, true
	case "warning":
		return fleet.Warning, true
	case "error":
		return fleet.Error, true
	}
	return 0, false
}

type jsonFinding struct {
	Rule      string   `json:"rule"`
	Severity  string   `json:"severity"`
	File      string   `json:"file,omitempty"`
	Line      int      `json:"line,omitempty"`
	Column    int      `json:"column,omitempty"`
	EndLine   int      `json:"endLine,omitempty"`
	EndColumn int      `json:"endColumn,omitempty"`
	Message   string   `json:"message"`
	Path      []string `json:"path,omitempty"`
	Fixes     []string `json:"fixes,omitempty"`
}

func jsonFindings(e *env, ds fleet.Errors) []jsonFinding {
	out := []jsonFinding{}
	for _, d := range ds {
		jf := jsonFinding{Rule: d.Code, Severity: d.Severity.String(), Message: d.Summary, Path: d.Path,
			Line: d.Pos.Line, Column: d.Pos.Column, EndLine: d.End.Line, EndColumn: d.End.Column}
		if d.Pos.File != "" {
			jf.File = fleet.RelPath(e.cwd, d.Pos.File)
		}
		for _, l := range strings.Split(d.Detail, "\n") {
			if f, ok := strings.CutPrefix(l, "fix "); ok {
				jf.Fixes = append(jf.Fixes, f)
			}
		}
		out = append(out, jf)
	}
	return out
}

// sarif returns the findings as a SARIF 2.1.0 log.
func sarif(e *env, ds fleet.Errors) map[string]any {
	level := func(s fleet.Severity) string {
		switch s {
		case fleet.Error:
			return "error"
		case fleet.Warning:
			return "warning"
		}
		return "note"
	}
	var ruleList []map[string]any
	index := map[string]int{}
	for i, r := range fleet.LintRules() {
		index[r.ID] = i
		rule := map[string]any{
			"id":                   r.ID,
			"name":                 r.Name,
			"shortDescription":     map[string]any{"text": r.Summary},
			"fullDescription":      map[string]any{"text": r.Doc},
			"defaultConfiguration": map[string]any{"level": level(r.Severity)},
		}
		if r.URL != "" {
			rule["helpUri"] = r.URL
		}
		ruleList = append(ruleList, rule)
	}
	results := []map[string]any{}
	for _, d := range ds {
		res := map[string]any{
			"ruleId":    d.Code,
			"ruleIndex": index[d.Code],
			"level":     level(d.Severity),
			"message":   map[string]any{"text": d.Summary},
		}
		if d.Pos.File != "" && d.Pos.Line > 0 {
			region := map[string]any{"startLine": d.Pos.Line, "startColumn": d.Pos.Column}
			if d.End.Line > 0 {
				region["endLine"], region["endColumn"] = d.End.Line, d.End.Column
			}
			res["locations"] = []map[string]any{{"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": fleet.RelPath(e.cwd, d.Pos.File)},
				"region":           region,
			}}}
		}
		results = append(results, res)
	}
	return map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []map[string]any{{
			"tool": map[string]any{"driver": map[string]any{
				"name": "fleetgen", "informationUri": "https://fleetnix.dev", "rules": ruleList,
			}},
			"results": results,
		}},
	}
}

// plural returns "1 fix" or "n fixes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
