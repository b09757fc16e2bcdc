package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"fleetnix.dev/fleet/fleet"
)

const checkArgs = "[HOST...|@TAG] [-j N] [--json]"

func init() {
	register(&command{name: "check", args: checkArgs, short: "evaluate hosts with nix and their pinned nixpkgs; NixOS's errors at your CUE lines", long: checkHelp, run: runCheck})
}

// checkHelp is the long help of check, after its flags.
const checkHelp = `
check evaluates each selected host for real, offline, with the inputs the
generated flake's lock file pins: its system (system.build.toplevel) and
each user's home-manager activation, at most -j hosts at a time. Nothing is
built. The Nix tree is regenerated first; a generated flake without a lock
file gets one (nix/flake.lock), and an existing one is never changed.

Every error and warning NixOS reports (failed assertions, an option that
does not exist, conflicting definitions, a value of the wrong type, a
package missing from nixpkgs, deprecations) is shown at the file:line:col
of your CUE that produced the generated line, with NixOS's own message and
the generated line under it. A table of hosts follows on stdout.

Exit status: 0 when every host evaluates (warnings allowed), 1 otherwise.
`

func runCheck(e *env, args []string) int {
	fs := e.flags("check", checkArgs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: fleetgen check %s\n", checkArgs)
		fs.PrintDefaults()
		fmt.Fprint(e.stderr, checkHelp)
	}
	jobs := fs.Int("j", 0, fmt.Sprintf("evaluate at most `N` hosts at once (default %d: min(CPUs, 8))", fleet.DefaultJobs()))
	asJSON := fs.Bool("json", false, "write a stream of JSON events to stdout, each host's result with its problems included, instead of the live view, the problems and the table (see docs/events.md)")
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if *jobs < 0 {
		return e.usageErr("check", "-j must be positive")
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	opts := fleet.CheckOptions{Hosts: hosts, Jobs: *jobs, Progress: e.stderr}
	var js *eventStream
	if *asJSON {
		js = newEventStream(e.stdout)
		opts.Progress, opts.Events = nil, js.event
	}
	res, err := f.Check(e.ctx, opts)
	if res == nil {
		return e.report(err)
	}
	if res.LockCreated {
		fmt.Fprintf(e.stderr, "created %s: the generated flake's inputs, locked as they are now\n",
			fleet.RelPath(e.cwd, filepath.Join(res.OutDir, "flake.lock")))
	}
	if js != nil {
		js.checks(checkJSON(e, res))
	} else {
		if probs := res.Problems(); len(probs) > 0 {
			fleet.PrintErrors(e.stderr, e.cwd, probs)
		}
		writeCheckTable(e, res)
	}
	e.interrupted("check")
	if res.Failed() || err != nil {
		return exitFail
	}
	return exitOK
}

// writeCheckTable writes one line per host: what became of it and its
// system's derivation.
func writeCheckTable(e *env, res *fleet.CheckResult) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tRESULT\tSYSTEM\tTIME")
	for _, h := range res.Hosts {
		errs, warns := 0, 0
		for _, d := range h.Problems {
			if d.Severity == fleet.Error {
				errs++
			} else {
				warns++
			}
		}
		result := "ok"
		switch {
		case errs > 0:
			result = plural(errs, "error", "errors")
		case warns > 0:
			result = "ok, " + plural(warns, "warning", "warnings")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Host, result, dash(h.Toplevel), h.Duration.Round(1e6))
	}
	tw.Flush()
}

// A jsonProblem is one of NixOS's errors or warnings about a host, at
// the user's position, for machines.
type jsonProblem struct {
	Severity  string   `json:"severity"`
	Pos       string   `json:"pos"`
	Path      string   `json:"path"`
	Summary   string   `json:"summary"`
	Detail    string   `json:"detail,omitempty"`
	Generated []string `json:"generated,omitempty"`
}

// A jsonCheck is the result of check for one host, for machines.
type jsonCheck struct {
	Host       string            `json:"host"`
	OK         bool              `json:"ok"`
	Toplevel   string            `json:"toplevel"`
	Homes      map[string]string `json:"homes"`
	DurationMS int64             `json:"durationMs"`
	Problems   []jsonProblem     `json:"problems"`
}

// checkJSON is the result of check for machines, host by host.
func checkJSON(e *env, res *fleet.CheckResult) []jsonCheck {
	out := []jsonCheck{}
	for _, h := range res.Hosts {
		homes := h.Homes
		if homes == nil {
			homes = map[string]string{}
		}
		j := jsonCheck{Host: h.Host, OK: true, Toplevel: h.Toplevel, Homes: homes,
			DurationMS: h.Duration.Milliseconds(), Problems: []jsonProblem{}}
		for _, d := range h.Problems {
			p := jsonProblem{Severity: d.Severity.String(), Pos: e.rel(d.Pos), Path: fleet.FormatPath(d.Path), Summary: d.Summary, Detail: d.Detail}
			for _, r := range d.Related {
				p.Generated = append(p.Generated, e.rel(r.Pos))
			}
			if d.Severity == fleet.Error {
				j.OK = false
			}
			j.Problems = append(j.Problems, p)
		}
		out = append(out, j)
	}
	return out
}

// printNixProblems prints, after a build's or deployment's summary, the
// NixOS errors of failed hosts at the CUE positions that produced them.
func (e *env) printNixProblems(rs []fleet.HostResult) {
	var probs fleet.Errors
	for _, r := range rs {
		var he *fleet.HostError
		if errors.As(r.Err, &he) {
			probs = append(probs, he.Problems...)
		}
	}
	if len(probs) > 0 {
		fmt.Fprintln(e.stderr)
		fleet.PrintErrors(e.stderr, e.cwd, probs)
	}
}
