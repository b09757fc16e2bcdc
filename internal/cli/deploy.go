package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"fleetnix.dev/fleet/fleet"
)

const (
	buildArgs  = "[HOST...|@TAG] [-j N] [--keep-going] [--flake REF]"
	deployArgs = "[HOST...|@TAG] [-j N] [--dry-run] [--emergency] [--mode switch|boot|test] [--fail-fast] [--skip-check KIND] [--health-timeout D] [--flake REF]"
	pingArgs   = "[HOST...|@TAG] [-j N]"
	statusArgs = "[HOST...|@TAG] [-j N] [--flake REF]"
)

func init() {
	register(&command{name: "build", args: buildArgs, short: "build hosts' systems with nix build, in parallel; a table of results", run: runBuild})
	register(&command{name: "deploy", args: deployArgs, short: "plan, build, copy, activate, health-check and roll back hosts, in parallel", run: runDeploy})
	register(&command{name: "ping", args: pingArgs, short: "check that hosts answer over ssh", run: runPing})
	register(&command{name: "status", args: statusArgs, short: "show each host's generation and whether it runs what the fleet generates", run: runStatus})
}

// driverFlags are the flags build, deploy, ping and status share.
type driverFlags struct {
	jobs       int
	flake      string
	targetRoot string
}

func (d *driverFlags) register(fs *flag.FlagSet, flake bool) {
	fs.IntVar(&d.jobs, "j", 0, fmt.Sprintf("work on at most `N` hosts at once (default %d: min(CPUs, 8))", fleet.DefaultJobs()))
	if flake {
		fs.StringVar(&d.flake, "flake", "", "take each host's system from nixosConfigurations.<host>.config.system.build.toplevel of flake `REF` instead of the generated flake (which is then not regenerated)")
	}
	fs.StringVar(&d.targetRoot, "target-root", "", "for testing: the `DIR` each target keeps its system under instead of /; {host} is replaced by the host's name")
}

// options returns the facade's options for hosts. Extra ssh options come
// from $NIX_SSHOPTS, as for nixos-rebuild and nix copy.
func (d *driverFlags) options(e *env, hosts []string) fleet.DriverOptions {
	return fleet.DriverOptions{
		Hosts:      hosts,
		Jobs:       d.jobs,
		Flake:      d.flake,
		SSHOptions: strings.Fields(os.Getenv("NIX_SSHOPTS")),
		TargetRoot: d.targetRoot,
		Progress:   e.stderr,
	}
}

// loadForDriver loads the fleet in the current directory with the NixOS
// configurations that generation and health checks need.
func (e *env) loadForDriver() (*fleet.Fleet, int) {
	return e.loadWith(e.config(nil, true))
}

// interrupted says so on stderr when the run was cut short by Ctrl-C; the
// summary has been printed already.
func (e *env) interrupted(cmd string) {
	if e.ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "fleetgen %s: interrupted\n", cmd)
	}
}

func runBuild(e *env, args []string) int {
	fs := e.flags("build", buildArgs)
	var d driverFlags
	d.register(fs, true)
	keepGoing := fs.Bool("keep-going", false, "build every host even after one failed (default: start no new host once one failed)")
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if d.jobs < 0 {
		return e.usageErr("build", "-j must be positive")
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	rs, err := f.Build(e.ctx, fleet.BuildOptions{DriverOptions: d.options(e, hosts), KeepGoing: *keepGoing})
	if err != nil {
		return e.report(err)
	}
	fleet.WriteSummary(e.stdout, rs)
	e.printNixProblems(rs)
	e.interrupted("build")
	return resultsCode(rs)
}

func resultsCode(rs []fleet.HostResult) int {
	for _, r := range rs {
		if !r.Status.OK() {
			return exitFail
		}
	}
	return exitOK
}

// checkKinds is the value of a repeatable --skip-check flag.
type checkKinds []fleet.CheckKind

func (c *checkKinds) String() string { return fmt.Sprint(*c) }
func (c *checkKinds) Set(s string) error {
	for _, k := range strings.Split(s, ",") {
		ok := false
		for _, known := range fleet.CheckKinds {
			if k == string(known) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("unknown check kind %q", k)
		}
		*c = append(*c, fleet.CheckKind(k))
	}
	return nil
}

func runDeploy(e *env, args []string) int {
	fs := e.flags("deploy", deployArgs)
	var d driverFlags
	d.register(fs, true)
	dryRun := fs.Bool("dry-run", false, "plan, build and print the closure diff against each target's system; change nothing")
	emergency := fs.Bool("emergency", false, "deploy even when lint finds errors (the plan still runs)")
	mode := fs.String("mode", "", "activate with switch, boot or test instead of each host's deploy.activation")
	failFast := fs.Bool("fail-fast", false, "start no new host once one has failed (default: every host is attempted)")
	healthTimeout := fs.Duration("health-timeout", 0, "give each health check at most `D`, retries included (default: each host's deploy.health.timeout, 1m)")
	var skip checkKinds
	fs.Var(&skip, "skip-check", "do not run the derived health checks of `KIND` (system-state, ports, endpoints; repeatable)")
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	switch *mode {
	case "", "switch", "boot", "test":
	default:
		return e.usageErr("deploy", "unknown --mode %q (want switch, boot or test)", *mode)
	}
	if d.jobs < 0 {
		return e.usageErr("deploy", "-j must be positive")
	}
	// The vet gate is the load itself: without a valid fleet there are
	// no hosts to deploy, emergency or not.
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	if code := e.lintGate(f, *emergency); code != exitOK {
		return code
	}
	opts := fleet.DeployOptions{DriverOptions: d.options(e, hosts), DryRun: *dryRun, Mode: *mode,
		FailFast: *failFast, SkipChecks: skip, HealthTimeout: *healthTimeout}
	rep, err := f.Deploy(e.ctx, opts)
	if err != nil {
		return e.report(err)
	}
	if *dryRun {
		code := writePlan(e.stdout, e.cwd, rep.Plan)
		e.interrupted("deploy")
		return code
	}
	fmt.Fprintf(e.stderr, "%s\n", planLine(rep))
	fleet.WriteSummary(e.stdout, rep.Results)
	e.printNixProblems(rep.Results)
	e.interrupted("deploy")
	return resultsCode(rep.Results)
}

// lintGate lints the fleet and stops a deployment on error findings,
// unless emergency is set. Warnings are printed and do not stop it.
func (e *env) lintGate(f *fleet.Fleet, emergency bool) int {
	if emergency {
		fmt.Fprintf(e.stderr, "fleetgen deploy: --emergency: skipping the lint gate\n")
		return exitOK
	}
	res, err := f.Lint(e.ctx, fleet.LintOptions{})
	if err != nil {
		return e.report(err)
	}
	var errs fleet.Errors
	for _, d := range res.Diagnostics {
		if d.Severity >= fleet.Error {
			d.Summary += " [" + d.Code + "]"
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return exitOK
	}
	fleet.PrintErrors(e.stderr, e.cwd, errs)
	fmt.Fprintf(e.stderr, "fleetgen deploy: lint found %d error(s); fix them, or deploy anyway with --emergency\n", len(errs))
	return exitFail
}

// planLine summarises a plan in one line.
func planLine(rep *fleet.DeployReport) string {
	n := map[fleet.PlanAction]int{}
	for _, hp := range rep.Plan {
		n[hp.Action]++
	}
	return fmt.Sprintf("plan: %d to deploy, %d up to date, %d failed to plan (%s)",
		n[fleet.ActionDeploy], n[fleet.ActionSkip], n[fleet.ActionFail], rep.PlanDuration.Round(time.Millisecond))
}

// writePlan prints a dry run's plan: a table, then each host's closure
// diff, then every failure. It returns exitFail when any host could not be
// planned or diffed.
func writePlan(w io.Writer, cwd string, plan []fleet.HostPlan) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tACTION\tGENERATION\tCURRENT\tNEW")
	for _, hp := range plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", hp.Host, hp.Action, dash(hp.Generation), dash(hp.Current), dash(hp.New))
	}
	tw.Flush()
	code := exitOK
	for _, hp := range plan {
		if hp.Action == fleet.ActionDeploy && hp.Diff != "" {
			fmt.Fprintf(w, "\n%s: closure diff\n", hp.Host)
			for _, l := range strings.Split(strings.TrimRight(hp.Diff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	for _, hp := range plan {
		if hp.Err != nil {
			fmt.Fprintf(w, "\n%v\n", hp.Err)
			writeTail(w, hp.Err)
			code = exitFail
		}
	}
	return code
}

// writeTail prints the end of a failed command's standard error.
func writeTail(w io.Writer, err error) {
	he, ok := err.(*fleet.HostError)
	if !ok || strings.TrimSpace(he.Stderr) == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(he.Stderr, "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

func runPing(e *env, args []string) int {
	fs := e.flags("ping", pingArgs)
	var d driverFlags
	d.register(fs, false)
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	f, code := e.load(nil)
	if f == nil {
		return code
	}
	opts := d.options(e, hosts)
	opts.Progress = nil // one round trip each: the table says it all
	rs, err := f.Ping(e.ctx, opts)
	if err != nil {
		return e.report(err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tTARGET\tRESULT")
	code = exitOK
	for _, r := range rs {
		res := "ok"
		if r.Err != nil {
			res = "failed"
			if he, ok := r.Err.(*fleet.HostError); ok {
				res = he.Kind
			}
			code = exitFail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Host, r.Target, res)
	}
	tw.Flush()
	for _, r := range rs {
		if r.Err != nil {
			fmt.Fprintf(e.stdout, "\n%v\n", r.Err)
			writeTail(e.stdout, r.Err)
		}
	}
	e.interrupted("ping")
	return code
}

func runStatus(e *env, args []string) int {
	fs := e.flags("status", statusArgs)
	var d driverFlags
	d.register(fs, true)
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	opts := d.options(e, hosts)
	opts.Progress = nil
	st, err := f.Status(e.ctx, opts)
	if err != nil {
		return e.report(err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATUS\tGENERATION\tCURRENT\tGENERATED")
	code = exitOK
	for _, s := range st {
		what := "out of date"
		switch {
		case s.Err != nil:
			what = "unknown"
			code = exitFail
		case s.UpToDate:
			what = "up to date"
		case s.Current == "":
			what = "no system"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Host, what, dash(s.Generation), dash(storeName(s.Current)), dash(storeName(s.Want)))
	}
	tw.Flush()
	for _, s := range st {
		if s.Err != nil {
			fmt.Fprintf(e.stdout, "\n%v\n", s.Err)
			writeTail(e.stdout, s.Err)
		}
	}
	e.interrupted("status")
	return code
}

// storeName shortens a store path to its name, for tables.
func storeName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}
