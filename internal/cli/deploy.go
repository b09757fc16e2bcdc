package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"fleetnix.dev/fleet/fleet"
)

const (
	buildArgs  = "[HOST...|@TAG] [-j N] [--net-jobs N] [--keep-going] [--json] [--flake REF]"
	deployArgs = "[HOST...|@TAG] [-j N] [--net-jobs N] [--dry-run] [--format text|json] [--json] [--emergency] [--force-lockout-risk] [--mode switch|boot|test] [--fail-fast] [--skip-check KIND] [--health-timeout D] [--flake REF]"
	pingArgs   = "[HOST...|@TAG] [--net-jobs N]"
	statusArgs = "[HOST...|@TAG] [-j N] [--net-jobs N] [--json] [--flake REF]"
)

func init() {
	register(&command{name: "build", args: buildArgs, short: "build hosts' systems with nix build, in parallel; a table of results", run: runBuild})
	register(&command{name: "deploy", args: deployArgs, short: "plan, then build, copy, activate, health-check and roll back hosts in waves, refusing lockouts", run: runDeploy})
	register(&command{name: "ping", args: pingArgs, short: "check that hosts answer over ssh", run: runPing})
	register(&command{name: "status", args: statusArgs, short: "show each host's drift: generation, since when, reboot pending, changed outside fleet", run: runStatus})
}

// driverFlags are the flags build, deploy, ping and status share.
type driverFlags struct {
	jobs, netJobs int
	flake         string
	targetRoot    string
}

func (d *driverFlags) register(fs *flag.FlagSet, flake bool) {
	if flake {
		fs.IntVar(&d.jobs, "j", 0, fmt.Sprintf("run at most `N` evaluations and builds at once (default %d: min(CPUs, 8))", fleet.DefaultJobs()))
	}
	fs.IntVar(&d.netJobs, "net-jobs", 0, fmt.Sprintf("run at most `N` network-bound steps (queries, copies, activations, health checks) at once (default %d)", fleet.DefaultNetJobs))
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
		NetJobs:    d.netJobs,
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
	asJSON := fs.Bool("json", false, "write a stream of JSON events to stdout instead of the live view and summary (see docs/events.md)")
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if d.jobs < 0 || d.netJobs < 0 {
		return e.usageErr("build", "-j and --net-jobs must be positive")
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	opts := fleet.BuildOptions{DriverOptions: d.options(e, hosts), KeepGoing: *keepGoing}
	var js *eventStream
	if *asJSON {
		js = newEventStream(e.stdout)
		opts.Progress, opts.Events = nil, js.event
	}
	rs, err := f.Build(e.ctx, opts)
	if err != nil {
		return e.report(err)
	}
	if js != nil {
		js.results(rs)
	} else {
		fleet.WriteSummary(e.stdout, rs)
		e.printNixProblems(rs)
	}
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
	dryRun := fs.Bool("dry-run", false, "plan and preview each host (waves, closure diff, units activation would stop, start, restart or reload, reboot needed); activate nothing")
	format := fs.String("format", "text", "print a dry run's plan as `text` or json")
	asJSON := fs.Bool("json", false, "write a stream of JSON events to stdout instead of the live view and summary (see docs/events.md)")
	emergency := fs.Bool("emergency", false, "deploy even when lint finds errors (the plan still runs)")
	force := fs.Bool("force-lockout-risk", false, "deploy hosts whose new configuration would lock the deployer out (refused by default)")
	mode := fs.String("mode", "", "activate with `MODE` (switch, boot or test) instead of each host's deploy.activation")
	failFast := fs.Bool("fail-fast", false, "build or activate no further host once one has failed; activations under way finish (default: every host of a wave is attempted)")
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
	switch *format {
	case "text", "json":
	default:
		return e.usageErr("deploy", "unknown --format %q (want text or json)", *format)
	}
	if *format == "json" && !*dryRun {
		return e.usageErr("deploy", "--format json is for --dry-run; a deployment's machine-readable form is --json")
	}
	if *asJSON && *dryRun {
		return e.usageErr("deploy", "--json is an event stream for a deployment; a dry run's plan as JSON is --format json")
	}
	if d.jobs < 0 || d.netJobs < 0 {
		return e.usageErr("deploy", "-j and --net-jobs must be positive")
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
		FailFast: *failFast, SkipChecks: skip, HealthTimeout: *healthTimeout, ForceLockoutRisk: *force}
	var js *eventStream
	switch {
	case *asJSON:
		js = newEventStream(e.stdout)
		opts.Progress, opts.Events = nil, js.event
		opts.OnPlan = js.plan
	case !*dryRun:
		opts.OnPlan = func(plan []fleet.HostPlan, took time.Duration) {
			fmt.Fprintf(e.stderr, "%s\n", planLine(plan, took))
			writeWaves(e.stderr, plan)
		}
	}
	rep, err := f.Deploy(e.ctx, opts)
	if err != nil {
		return e.report(err)
	}
	if *dryRun {
		var code int
		if *format == "json" {
			code = writePlanJSON(e, rep.Plan)
		} else {
			fmt.Fprintf(e.stderr, "%s\n", planLine(rep.Plan, rep.PlanDuration))
			code = writePlan(e.stdout, rep.Plan)
		}
		e.interrupted("deploy")
		return code
	}
	if js != nil {
		js.results(rep.Results)
	} else {
		fleet.WriteSummary(e.stdout, rep.Results)
		e.printNixProblems(rep.Results)
	}
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
func planLine(plan []fleet.HostPlan, took time.Duration) string {
	n := map[fleet.PlanAction]int{}
	for _, hp := range plan {
		n[hp.Action]++
	}
	return fmt.Sprintf("plan: %d to deploy, %d up to date, %d failed to plan, %d refused (%s)",
		n[fleet.ActionDeploy], n[fleet.ActionSkip], n[fleet.ActionFail], n[fleet.ActionRefuse], took.Round(time.Millisecond))
}

// A planWave is the hosts of one wave, in plan order.
type planWave struct {
	number int
	hosts  []fleet.HostPlan
}

// wavesOf groups plan by wave, lowest first, canaries first in each.
func wavesOf(plan []fleet.HostPlan) []planWave {
	byNum := map[int]*planWave{}
	var nums []int
	for _, hp := range plan {
		w := byNum[hp.Wave]
		if w == nil {
			w = &planWave{number: hp.Wave}
			byNum[hp.Wave] = w
			nums = append(nums, hp.Wave)
		}
		w.hosts = append(w.hosts, hp)
	}
	sort.Ints(nums)
	out := make([]planWave, len(nums))
	for i, n := range nums {
		out[i] = *byNum[n]
		sort.SliceStable(out[i].hosts, func(a, b int) bool { return out[i].hosts[a].Canary && !out[i].hosts[b].Canary })
	}
	return out
}

// writeWaves prints the order a deployment goes in, one line per wave:
// "wave 1: p620 (cache), builder (builder)", the canaries first and marked.
// Hosts the plan leaves alone are left out.
func writeWaves(w io.Writer, plan []fleet.HostPlan) {
	for _, wv := range wavesOf(plan) {
		var names []string
		for _, hp := range wv.hosts {
			if hp.Action != fleet.ActionDeploy {
				continue
			}
			var notes []string
			if hp.WaveReason != "clients" {
				notes = append(notes, hp.WaveReason)
			}
			if hp.Canary {
				notes = append(notes, "canary")
			}
			name := hp.Host
			if len(notes) > 0 {
				name += " (" + strings.Join(notes, ", ") + ")"
			}
			names = append(names, name)
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "wave %d: %s\n", wv.number, strings.Join(names, ", "))
		}
	}
}

// writePlan prints a dry run's plan: the waves, a table, then what
// deploying each host would change, then every failure. It returns
// exitFail when any host could not be planned or previewed, or was
// refused.
func writePlan(w io.Writer, plan []fleet.HostPlan) int {
	writeWaves(w, plan)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tWAVE\tACTION\tGENERATION\tCURRENT\tNEW")
	for _, hp := range plan {
		action := string(hp.Action)
		if hp.Canary && hp.Action == fleet.ActionDeploy {
			action += " (canary)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", hp.Host, hp.Wave, action, dash(hp.Generation), dash(hp.Current), dash(hp.New))
	}
	tw.Flush()
	code := exitOK
	for _, hp := range plan {
		if hp.Action == fleet.ActionDeploy && hp.Preview != nil {
			fmt.Fprintf(w, "\n%s:\n", hp.Host)
			writePreview(w, hp.Preview)
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

// writePreview prints what deploying a host would change.
func writePreview(w io.Writer, pv *fleet.Preview) {
	if c := pv.Closure; c == nil {
		fmt.Fprintf(w, "    closure: no running system to compare with\n")
	} else {
		fmt.Fprintf(w, "    closure: %d added, %d removed, %d changed; %s → %s (%s)\n",
			len(c.Added), len(c.Removed), len(c.Changed), fleet.FormatSize(c.SizeBefore), fleet.FormatSize(c.SizeAfter),
			signed(fleet.FormatSize(c.SizeAfter-c.SizeBefore)))
		size := func(d int64) string {
			if d == 0 {
				return ""
			}
			return " (" + signed(fleet.FormatSize(d)) + ")"
		}
		for _, p := range c.Added {
			fmt.Fprintf(w, "      + %s %s%s\n", p.Name, fleet.FormatVersions(p.Versions), size(p.SizeDelta))
		}
		for _, p := range c.Removed {
			fmt.Fprintf(w, "      - %s %s%s\n", p.Name, fleet.FormatVersions(p.Versions), size(p.SizeDelta))
		}
		for _, p := range c.Changed {
			fmt.Fprintf(w, "      ~ %s %s → %s%s\n", p.Name, fleet.FormatVersions(p.From), fleet.FormatVersions(p.To), size(p.SizeDelta))
		}
	}
	u := pv.Units
	for _, a := range u.Actions() {
		fmt.Fprintf(w, "    activation would %s: %s\n", a.Verb, strings.Join(a.Units, ", "))
	}
	if u.RestartSystemd {
		fmt.Fprintf(w, "    activation would restart systemd\n")
	}
	if len(u.Actions()) == 0 && !u.RestartSystemd {
		fmt.Fprintf(w, "    activation would change no unit\n")
	}
	if why := pv.RebootWhy(); why != "" {
		fmt.Fprintf(w, "    reboot needed: %s\n", why)
	}
}

// signed puts a "+" in front of a size that has no sign.
func signed(s string) string {
	if strings.HasPrefix(s, "-") {
		return s
	}
	return "+" + s
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
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
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
	code = exitOK
	for _, s := range st {
		if s.Err != nil {
			code = exitFail
		}
	}
	if *asJSON {
		type row struct {
			Host          string  `json:"host"`
			Status        string  `json:"status"`
			Generation    string  `json:"generation"`
			Since         *string `json:"since"`
			Current       string  `json:"current"`
			Generated     string  `json:"generated"`
			RebootPending bool    `json:"rebootPending"`
			SetBy         string  `json:"setBy"`
			LastChange    *string `json:"lastChange"`
			Error         *string `json:"error"`
		}
		rows := []row{}
		for _, s := range st {
			rows = append(rows, row{Host: s.Host, Status: statusWord(s), Generation: s.Generation, Since: timeOrNil(s.Since),
				Current: s.Current, Generated: s.Want, RebootPending: s.RebootPending, SetBy: string(s.SetBy),
				LastChange: timeOrNil(s.LastChange), Error: errString(s.Err)})
		}
		e.writeJSON(rows)
		e.interrupted("status")
		return code
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATUS\tGENERATION\tSINCE\tREBOOT\tSET BY\tCURRENT\tGENERATED")
	for _, s := range st {
		since := "-"
		if !s.Since.IsZero() {
			since = s.Since.Local().Format("2006-01-02 15:04")
		}
		reboot := "-"
		if s.RebootPending {
			reboot = "pending"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, statusWord(s), dash(s.Generation), since, reboot,
			dash(string(s.SetBy)), dash(storeName(s.Current)), dash(storeName(s.Want)))
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

// statusWord says in a word or three how a host stands against the fleet.
func statusWord(s fleet.HostStatus) string {
	switch {
	case s.Err != nil:
		return "unknown"
	case s.UpToDate:
		return "up to date"
	case s.Current == "":
		return "no system"
	case s.SetBy == fleet.SetOutsideFleet:
		return "changed outside fleet"
	}
	return "out of date"
}

func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := jsonTime(t)
	return &s
}

// storeName shortens a store path to its name, for tables.
func storeName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}
