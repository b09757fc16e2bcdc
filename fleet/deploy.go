package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/model"
)

// This file is the facade of the build and deploy driver (internal/build):
// it turns loaded hosts into the driver's plain data and the driver's
// results into the small public types below.
//
// Where a host's system comes from: by default the generated flake,
// regenerated first when stale, and its output
// nixosConfigurations.<host>.config.system.build.toplevel. DriverOptions.Flake
// points every host at another flake with the same outputs instead, such as
// a self-contained fixture flake in tests, where nixpkgs is out of reach.

// DriverOptions are the options Build, Deploy, Ping and Status share. The
// zero value acts on every host with default parallelism, the generated
// flake, ssh's own configuration and no progress reporting.
type DriverOptions struct {
	// Hosts selects the hosts to act on, as Select takes them: names and
	// "@tag"s. Empty means every host.
	Hosts []string
	// Jobs bounds the evaluations and builds run at once; 0 means
	// DefaultJobs().
	Jobs int
	// NetJobs bounds the steps that wait on networks and other machines
	// run at once: asking targets what they run, copies, activations,
	// health checks; 0 means DefaultNetJobs.
	NetJobs int
	// Flake, when set, is the flake reference every host's system is
	// taken from instead of the generated flake, at the same attribute
	// nixosConfigurations.<host>.config.system.build.toplevel; the fleet
	// is then not regenerated. A file path (absolute, or starting with
	// "./" or "../", relative to the current directory) becomes a "path:"
	// reference.
	Flake string
	// NixArgs are extra arguments for every nix command run on this
	// machine, such as "--option", "substituters", "". The driver always
	// enables the nix-command and flakes features.
	NixArgs []string
	// RemoteNixArgs are extra arguments for the nix commands run on
	// targets and build hosts.
	RemoteNixArgs []string
	// SSHOptions are extra options for every ssh connection, such as
	// "-i", "key". They reach nix through NIX_SSHOPTS too, which splits on
	// white space, so none may contain any.
	SSHOptions []string
	// TargetRoot, for testing only, is the directory each target keeps
	// its system under instead of "/": the driver reads
	// <TargetRoot>/run/current-system and sets the profile
	// <TargetRoot>/nix/var/nix/profiles/system there. "{host}" in it is
	// replaced by the host's name, so that one machine can stand in for
	// several hosts, as fleet's own tests do. Activation still runs the
	// new system's switch-to-configuration on the target itself, so it
	// must not point at a real system mounted elsewhere.
	TargetRoot string
	// Progress, when not nil, receives progress for a person: one live
	// line per host when it is a terminal, plain lines otherwise.
	Progress io.Writer
	// Events, when not nil, receives every progress event, one call at a
	// time.
	Events func(Event)
}

// BuildOptions control Build.
type BuildOptions struct {
	DriverOptions
	// KeepGoing builds every selected host even after one failed. By
	// default no new host is started once one has failed (hosts under way
	// finish), and the hosts not started are reported as skipped.
	KeepGoing bool
}

// DeployOptions control Deploy.
type DeployOptions struct {
	DriverOptions
	// DryRun plans and stops: it builds the new systems, diffs their
	// closures against what the targets run, copies them to the targets
	// and asks each what activation would do (dry-activate), and changes
	// no running system.
	DryRun bool
	// ForceLockoutRisk deploys hosts whose new configuration would lock
	// the deployer out (see Deploy), which are refused otherwise.
	ForceLockoutRisk bool
	// Mode overrides every host's deploy.activation: "switch", "boot" or
	// "test". Empty keeps each host's own.
	Mode string
	// FailFast builds and activates no further host once one has failed;
	// activations under way finish. By default a failed host stops only
	// the waves after its own (see Deploy).
	FailFast bool
	// SkipChecks turns off health checks the driver derives from the
	// fleet, by kind, on top of those the hosts' deploy.health turns off.
	// The checks deploy.health declares always run.
	SkipChecks []CheckKind
	// HealthTimeout bounds each health check, retries included; 0 means
	// each host's deploy.health.timeout, or one minute.
	HealthTimeout time.Duration
	// OnPlan, when not nil, is called with the plan once it is made (the
	// lockout guard and the canaries included) and before anything is
	// built or changed, and with how long planning took.
	OnPlan func(plan []HostPlan, took time.Duration)
}

// A CheckKind is a kind of health check derived from a host's settings.
type CheckKind string

// The kinds of health check Deploy derives for each host.
const (
	// CheckSystemState asks systemd on the target whether the system is
	// "running" (a degraded system, one with failed units, fails).
	CheckSystemState CheckKind = "system-state"
	// CheckPorts connects, from the deploying machine, to every TCP port
	// the host's enabled features open in its firewall.
	CheckPorts CheckKind = "ports"
	// CheckEndpoints fetches /metrics from every Prometheus exporter the
	// host runs.
	CheckEndpoints CheckKind = "endpoints"
)

// CheckKinds lists every CheckKind.
var CheckKinds = []CheckKind{CheckSystemState, CheckPorts, CheckEndpoints}

// DefaultJobs returns the default bound of evaluations and builds run at
// once: min(runtime.NumCPU(), 8).
func DefaultJobs() int { return build.DefaultJobs() }

// DefaultNetJobs is the default bound of network-bound steps run at once.
const DefaultNetJobs = build.DefaultNetJobs

// An Event is one piece of progress of the driver.
type Event struct {
	// Time is when it happened.
	Time time.Time
	// Host is the host it concerns; empty for fleet-wide events.
	Host string
	// Wave is the rollout wave of Host, or the wave a "rollout" event is
	// about; 0 outside deployments.
	Wave int
	// Step is the step it belongs to: "eval", "build", "query", "diff",
	// "preview", "copy", "activate", "health", "confirm", "rollback",
	// "guard" (the lockout guard) or "rollout" (a wave as a whole).
	Step string
	// Kind is "start", "done", "fail", "output" (a line of a command's
	// standard error), "exec" (a command is about to start; Msg is its
	// argv) or "note".
	Kind string
	// Msg is a human-readable line.
	Msg string
	// Err is set when Kind is "fail", and on a "note" of something that
	// went wrong without failing the host.
	Err error
	// Preview is what deploying Host will change, on the "preview" step's
	// "done" event a deployment reports before activating the host; nil
	// on every other event.
	Preview *Preview
}

// A ResultStatus says what happened to a host. Every status but
// StatusRollbackFailed and StatusLost also says which generation the host
// is on.
type ResultStatus string

// The outcomes for a host.
const (
	StatusSkipped        ResultStatus = "skipped"         // not attempted; on the old generation
	StatusUpToDate       ResultStatus = "up to date"      // already ran the new system; nothing done
	StatusBuilt          ResultStatus = "built"           // built (Build only)
	StatusDeployed       ResultStatus = "deployed"        // activated, checked and confirmed: on the new generation
	StatusFailed         ResultStatus = "failed"          // failed; on the old generation unless rollback is disabled
	StatusRolledBack     ResultStatus = "rolled back"     // activation or a health check failed; back on the old generation
	StatusCanceled       ResultStatus = "canceled"        // stopped by cancellation; on the old generation
	StatusRollbackFailed ResultStatus = "rollback failed" // rolling back failed too: the host needs a human
	StatusLost           ResultStatus = "lost"            // contact lost after activation began
	StatusRefused        ResultStatus = "refused"         // not deployed: it would lock the deployer out; on the old generation
)

// OK reports whether s is a success: up to date, built or deployed.
func (s ResultStatus) OK() bool {
	return s == StatusUpToDate || s == StatusBuilt || s == StatusDeployed
}

// A HostResult is the outcome of Build or Deploy for one host.
type HostResult struct {
	// Host is the host's name.
	Host string
	// Wave is the rollout wave it was in; 0 for Build.
	Wave int
	// Status says what happened.
	Status ResultStatus
	// StorePath is the host's new system: built, or evaluated when the
	// build did not happen.
	StorePath string
	// Previous is what the host ran before a deployment.
	Previous string
	// Current is what the host runs after a deployment, as last seen;
	// empty when unknown.
	Current string
	// Err is the failure, a *HostError; nil when Status.OK().
	Err error
	// RollbackErr is set when rolling back failed as well.
	RollbackErr error
	// Duration is the wall time spent on the host.
	Duration time.Duration
	// Preview is what deploying the host was to change, found out before
	// it was activated; nil when it was not previewed (not deployed, or
	// its preview failed).
	Preview *Preview

	r build.Result // what the driver returned, for WriteSummary
}

// A HostError is a runtime failure of one step on one host, such as a
// failed nix build or an unreachable target. Its message names the host,
// the step and the last line of the failed command's standard error.
type HostError struct {
	// Host is the host the step ran for.
	Host string
	// Step is the step that failed, as in Event.Step.
	Step string
	// Kind classifies the failure: "command failed", "unreachable",
	// "connection lost", "canceled", "timed out", "check failed",
	// "protocol error" or "error".
	Kind string
	// ExitCode is the exit status of the failed command, or -1.
	ExitCode int
	// Stderr is the tail of the failed command's standard error.
	Stderr string
	// Problems are NixOS's errors and warnings in Stderr, at the user's
	// CUE positions, when the step evaluated or built the generated
	// flake (as Check reports them).
	Problems Errors

	msg string
	err error
}

// Error returns "host: step: what went wrong".
func (e *HostError) Error() string { return e.msg }

// Unwrap returns the underlying error, such as context.Canceled.
func (e *HostError) Unwrap() error { return e.err }

// hostError converts an error of the driver.
func hostError(err error) error {
	if err == nil {
		return nil
	}
	var be *build.Error
	if !errors.As(err, &be) {
		return err
	}
	return &HostError{Host: be.Host, Step: string(be.Op), Kind: be.Kind.String(),
		ExitCode: be.ExitCode, Stderr: be.Stderr, msg: be.Error(), err: be.Err}
}

func hostResult(r build.Result) HostResult {
	return HostResult{Host: r.Host, Wave: r.Wave, Status: ResultStatus(r.Status.String()), StorePath: r.StorePath,
		Previous: r.Previous, Current: r.Current, Err: hostError(r.Err), RollbackErr: hostError(r.RollbackErr),
		Duration: r.Duration, Preview: previewOf(r.Preview), r: r}
}

// WriteSummary writes a table of results to w (host, result, store path,
// time) followed by every failure with the tail of its command's standard
// error, so that all failures are reported together.
func WriteSummary(w io.Writer, results []HostResult) error {
	rs := make([]build.Result, len(results))
	for i, r := range results {
		rs[i] = r.r
		if rs[i].Host == "" {
			// Not from Build or Deploy: the table from the public
			// fields, and the errors as they are.
			rs[i] = build.Result{Host: r.Host, Wave: r.Wave, StorePath: r.StorePath, Duration: r.Duration,
				Status: statusOf(r.Status), Err: r.Err, RollbackErr: r.RollbackErr}
		}
	}
	return build.WriteSummary(w, rs)
}

func statusOf(s ResultStatus) build.Status {
	for st := build.Skipped; st <= build.Refused; st++ {
		if st.String() == string(s) {
			return st
		}
	}
	return build.Failed
}

// Build builds the system of each selected host with nix build, at most
// Jobs at a time, where the host's deploy.buildOn says: on this machine,
// on deploy.builder, or on the host itself. It regenerates the fleet's Nix
// tree first when it is stale, unless opts.Flake is set. The results are in
// fleet order; a failed host is a result, not an error. The error is for
// problems before any host was built: an unknown host, a failed
// generation. The fleet must be loaded with Config.NixOS unless opts.Flake
// is set.
func (f *Fleet) Build(ctx context.Context, opts BuildOptions) ([]HostResult, error) {
	_, hosts, err := f.driverHosts(&opts.DriverOptions, nil)
	if err != nil {
		return nil, err
	}
	if err := f.checkTracked(ctx, &opts.DriverOptions); err != nil {
		return nil, err
	}
	bo, done := driverOptions(&opts.DriverOptions, hosts)
	bo.FailFast = !opts.KeepGoing
	rs := build.Build(ctx, hosts, bo)
	done()
	return f.placeNixErrors(hostResults(rs), opts.Flake), nil
}

func hostResults(rs []build.Result) []HostResult {
	out := make([]HostResult, len(rs))
	for i, r := range rs {
		out[i] = hostResult(r)
	}
	return out
}

// A PlanAction is what a deployment plan does with a host.
type PlanAction string

// The actions of a plan.
const (
	// ActionDeploy builds, copies and activates the host's new system.
	ActionDeploy PlanAction = "deploy"
	// ActionSkip leaves the host alone: it already runs the new system.
	ActionSkip PlanAction = "skip"
	// ActionFail leaves the host alone because planning failed for it;
	// HostPlan.Err says why.
	ActionFail PlanAction = "fail"
	// ActionRefuse leaves the host alone because its new configuration
	// would lock the deployer out; HostPlan.Err says how.
	ActionRefuse PlanAction = "refuse"
)

// A HostPlan is what a deployment does with one host, decided before
// anything is built or changed.
type HostPlan struct {
	// Host is the host's name.
	Host string
	// Wave is the rollout wave the host is deployed in.
	Wave int
	// WaveReason says why: "deploy.wave", or the role that put it in its
	// default wave ("cache", "builder", "subnet router", "monitoring
	// server", "clients").
	WaveReason string
	// Canary reports that the host is one of its wave's canaries.
	Canary bool
	// Action is what the deployment does.
	Action PlanAction
	// New is the store path of the host's new system, as evaluated.
	New string
	// Current is what the target runs now; empty when unknown.
	Current string
	// Generation is the target's current system profile generation,
	// such as "system-42-link"; empty if it has none.
	Generation string
	// Diff is the closure diff from Current to New as nix prints it (a
	// dry run only).
	Diff string
	// Preview is what deploying the host would change (a dry run only;
	// a deployment reports it in events and results).
	Preview *Preview
	// Err says why Action is ActionFail or ActionRefuse, or why the
	// preview failed.
	Err error
}

// A DeployReport is what Deploy did: the plan and, unless it was a dry
// run, the outcome for each host.
type DeployReport struct {
	// Plan has one entry per selected host, in fleet order.
	Plan []HostPlan
	// PlanDuration is how long planning took.
	PlanDuration time.Duration
	// Results are the outcomes, in the order of Plan; nil for a dry run.
	Results []HostResult
}

// Deploy deploys the selected hosts. It first plans: it evaluates each
// host's new system and asks each target, in parallel and with one ssh
// round trip, what it runs, so hosts already on their new system are
// skipped and never built.
//
// The lockout guard then refuses every host whose new configuration would
// close the way the deployer reaches it (rule FV14, with the port the
// target's sshd answered on): sshd off or moved, its port closed in the
// firewall, the deploy user refused or without a key or a login shell, or
// its password-less sudo gone. opts.ForceLockoutRisk deploys them anyway.
//
// A dry run then previews the rest (Preview: closure diff, what
// activation would stop, start, restart or reload, whether a reboot is
// needed) and stops. Otherwise the hosts are deployed in waves
// (deploy.wave; by default infrastructure first: caches, builders and
// subnet routers, then monitoring servers, then the rest), each wave's
// canaries (settings.rollout.canary, deploy.canary) before the rest of it;
// a failed wave stops the rollout, or with settings.rollout.onFailure
// "rollback" also takes its deployed hosts back, and
// settings.rollout.maxUnavailable bounds how many hosts of a wave are down
// at once (a failed host stays down, so a wave with that many failed hosts
// activates no further host). Each stage of a wave (its canaries, then the
// rest) is built, copied and previewed before any host of it activates,
// and each host's Preview is reported in an Event (Step "preview", Kind
// "done") and kept in its HostResult. Per host it builds (once), copies
// the closure, activates it
// (deploy.activation, or opts.Mode), runs the health checks and confirms;
// when activation or a check fails the host goes back to the generation it
// ran before, and with magic rollback a host the deployer loses after
// activation, or whose activation hangs or dies, reverts by itself.
//
// The health checks of a host are: systemd's system state, a TCP
// connection to every port its enabled features open in the firewall
// (networking.firewall.allowedTCPPorts of its NixOS configuration), a GET
// of /metrics on every Prometheus exporter it runs, and the units, ports,
// endpoints and commands its deploy.health declares, each retried until it
// passes or its timeout (opts.HealthTimeout, else deploy.health.timeout)
// passes. deploy.health's systemState, ports and endpoints set to false
// drop the derived checks of that kind, as opts.SkipChecks does; the
// host's deploy.rollback turns magic rollback or rolling back at all off
// and sets the magic rollback's confirm timeout, by default the checks'
// worst case plus 30 seconds.
//
// Canceling ctx stops builds and copies, rolls back hosts whose
// activation was under way, and still returns a result for every host. As
// with Build, a failed host is a result, not an error, and the fleet is
// regenerated first unless opts.Flake is set.
func (f *Fleet) Deploy(ctx context.Context, opts DeployOptions) (*DeployReport, error) {
	if opts.Mode != "" && !model.Activation(opts.Mode).Valid() {
		return nil, fmt.Errorf("unknown activation mode %q (want switch, boot or test)", opts.Mode)
	}
	for _, k := range opts.SkipChecks {
		if !validCheck(k) {
			return nil, fmt.Errorf("unknown health check kind %q (want %s)", k, checkKindList())
		}
	}
	if err := f.checkDecryptable(opts.Hosts); err != nil {
		return nil, err
	}
	sel, hosts, err := f.driverHosts(&opts.DriverOptions, &opts)
	if err != nil {
		return nil, err
	}
	rollout, canaries, err := f.rollout()
	if err != nil {
		return nil, err
	}
	if err := f.checkTracked(ctx, &opts.DriverOptions); err != nil {
		return nil, err
	}
	bo, done := driverOptions(&opts.DriverOptions, hosts)
	defer done()
	bo.FailFast = opts.FailFast
	bo.Rollout = rollout
	p := build.PlanDeploy(ctx, hosts, bo)
	if err := f.guard(p, sel, opts.ForceLockoutRisk, bo.Events); err != nil {
		return nil, err
	}
	pickCanaries(p, canaries)
	rep := &DeployReport{PlanDuration: p.Duration}
	if opts.OnPlan != nil {
		opts.OnPlan(hostPlans(p), p.Duration)
	}
	if opts.DryRun {
		p.Preview(ctx, bo)
	} else {
		rep.Results = f.placeNixErrors(hostResults(build.Apply(ctx, p, bo)), opts.Flake)
	}
	rep.Plan = hostPlans(p)
	if opts.Flake == "" {
		for i := range rep.Plan {
			f.placeNixError(rep.Plan[i].Err)
		}
	}
	return rep, nil
}

func hostPlans(p *build.Plan) []HostPlan {
	out := make([]HostPlan, len(p.Hosts))
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		out[i] = HostPlan{Host: hp.Host.Name, Wave: hp.Host.Wave, WaveReason: hp.Host.WaveReason,
			Canary: hp.Host.Canary, Action: PlanAction(hp.Action.String()), New: hp.New, Current: hp.Current,
			Generation: hp.Generation, Diff: hp.Diff, Preview: previewOf(hp.Preview), Err: hostError(hp.Err)}
	}
	return out
}

func validCheck(k CheckKind) bool {
	for _, c := range CheckKinds {
		if c == k {
			return true
		}
	}
	return false
}

func checkKindList() string {
	s := make([]string, len(CheckKinds))
	for i, k := range CheckKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// A PingResult says whether a host's target answered over ssh.
type PingResult struct {
	// Host is the host's name.
	Host string
	// Target is the ssh destination tried, "user@address:port".
	Target string
	// Err is why the host did not answer, a *HostError; nil when it did.
	Err error
}

// Ping checks that each selected host's target answers over ssh, in
// parallel, with one round trip per host. The results are in fleet order.
func (f *Fleet) Ping(ctx context.Context, opts DriverOptions) ([]PingResult, error) {
	sel, err := f.Select(opts.Hosts...)
	if err != nil {
		return nil, err
	}
	hosts := make([]*model.Host, len(sel))
	for i, h := range sel {
		if hosts[i], err = modelHost(h, nil, &opts, nil); err != nil {
			return nil, err
		}
	}
	bo, done := driverOptions(&opts, hosts)
	errs := build.Ping(ctx, hosts, bo)
	done()
	out := make([]PingResult, len(hosts))
	for i, h := range hosts {
		out[i] = PingResult{Host: h.Name, Target: targetString(h.Target), Err: hostError(errs[i])}
	}
	return out, nil
}

func targetString(t model.Target) string {
	s := t.Dest()
	if t.Port != 0 {
		s = net.JoinHostPort(s, strconv.Itoa(t.Port))
	}
	return s
}

// A HostStatus is what a host runs compared with what the fleet says it
// should run.
type HostStatus struct {
	// Host is the host's name.
	Host string
	// Current is the store path the host runs (/run/current-system);
	// empty when it runs no system or could not be asked.
	Current string
	// Generation is its current system profile generation, such as
	// "system-42-link".
	Generation string
	// Since is when the host switched to Current; zero when unknown.
	Since time.Time
	// Want is the store path of the system the fleet generates for it,
	// as evaluated; nothing is built.
	Want string
	// UpToDate reports whether Current is Want.
	UpToDate bool
	// RebootPending reports that the host runs another kernel or initrd
	// than the one it booted: a reboot is needed to run them.
	RebootPending bool
	// SetBy says who put Current in place: SetByFleet (the last change
	// fleet made to the host's running system), SetOutsideFleet
	// (something else: nixos-rebuild or a rollback by hand), SetNeverByFleet
	// (fleet never deployed the host), or "" when the host runs no system
	// or could not be asked.
	SetBy SetBy
	// LastChange is when fleet last changed the host's running system;
	// zero when never.
	LastChange time.Time
	// Err is why the host could not be asked or its system evaluated.
	Err error
}

// A SetBy says who put a host's running system in place.
type SetBy string

// Who can have put a host's running system in place.
const (
	// SetByFleet: fleet's last change to the host left it running it.
	SetByFleet SetBy = "fleet"
	// SetOutsideFleet: the host runs something else than fleet's last
	// change left it on, so it was changed by other means.
	SetOutsideFleet SetBy = "outside fleet"
	// SetNeverByFleet: fleet never changed the host's running system.
	SetNeverByFleet SetBy = "never by fleet"
)

// Status asks each selected host what it runs and evaluates what it
// should run, without building anything: one nix eval for all hosts and,
// in parallel, one ssh round trip per host. It reports drift: whether the
// host runs the generated system, which generation and since when,
// whether a reboot is pending, and whether the running system is the one
// fleet last activated there, from the journal fleet keeps on each host.
// The fleet is regenerated first unless opts.Flake is set. The results are
// in fleet order.
func (f *Fleet) Status(ctx context.Context, opts DriverOptions) ([]HostStatus, error) {
	_, hosts, err := f.driverHosts(&opts, nil)
	if err != nil {
		return nil, err
	}
	if err := f.checkTracked(ctx, &opts); err != nil {
		return nil, err
	}
	bo, done := driverOptions(&opts, hosts)
	p := build.PlanDeploy(ctx, hosts, bo)
	done()
	out := make([]HostStatus, len(p.Hosts))
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		st := HostStatus{Host: hp.Host.Name, Current: hp.Current, Generation: hp.Generation, Since: hp.Since,
			Want: hp.New, UpToDate: hp.Action == build.ActionSkip, RebootPending: hp.RebootPending(), Err: hostError(hp.Err)}
		switch c := hp.LastChange; {
		case hp.Err != nil || hp.Current == "" && c == nil:
		case c == nil:
			st.SetBy = SetNeverByFleet
		case c.Current == hp.Current:
			st.SetBy, st.LastChange = SetByFleet, c.Time
		default:
			st.SetBy, st.LastChange = SetOutsideFleet, c.Time
		}
		out[i] = st
		if opts.Flake == "" {
			f.placeNixError(out[i].Err)
		}
	}
	return out, nil
}

// driverOptions returns the driver's options for opts, and a function to
// call when the driver is done.
func driverOptions(opts *DriverOptions, hosts []*model.Host) (*build.Options, func()) {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	bo, done := nixOptions(opts.Jobs, opts.NixArgs, opts.Progress, opts.Events, names)
	bo.NetJobs = opts.NetJobs
	bo.RemoteNixArgs = opts.RemoteNixArgs
	bo.SSHArgs = opts.SSHOptions
	return bo, done
}

// driverHosts selects the hosts of opts and converts them for the driver,
// regenerating the fleet's Nix tree first unless opts.Flake is set. dep is
// nil for everything but Deploy. It returns the selected hosts, and each
// converted.
func (f *Fleet) driverHosts(opts *DriverOptions, dep *DeployOptions) ([]*Host, []*model.Host, error) {
	sel, err := f.Select(opts.Hosts...)
	if err != nil {
		return nil, nil, err
	}
	ref, err := flakeRef(opts.Flake)
	if err != nil {
		return nil, nil, err
	}
	if ref == "" {
		res, err := f.Generate(GenerateOptions{})
		if err != nil {
			return nil, nil, err
		}
		ref = generatedFlakeRef(res.OutDir)
	}
	builders, err := f.builders()
	if err != nil {
		return nil, nil, err
	}
	hosts := make([]*model.Host, len(sel))
	for i, h := range sel {
		if hosts[i], err = modelHost(h, &ref, opts, dep); err != nil {
			return nil, nil, err
		}
		if hosts[i].Build.Where == model.BuildLocal {
			hosts[i].Build.Builders = builders
		}
	}
	return sel, hosts, nil
}

// builders returns the remote builders of the fleet: one per host with a
// deploy.builderRole, in fleet order, reached at its deploy target. A
// builder without systems builds for its own system.
func (f *Fleet) builders() ([]model.Builder, error) {
	var out []model.Builder
	for _, h := range f.Hosts() {
		var s deploySettings
		if err := json.Unmarshal(h.JSON(), &s); err != nil {
			return nil, fmt.Errorf("host %s: reading deploy settings: %v", h.Name, err)
		}
		d := s.Deploy
		r := d.BuilderRole
		if r == nil {
			continue
		}
		b := model.Builder{
			Target:            model.Target{Address: d.TargetHost, User: d.TargetUser, Port: d.Port},
			Systems:           setKeys(r.Systems),
			MaxJobs:           r.MaxJobs,
			SpeedFactor:       r.SpeedFactor,
			SupportedFeatures: setKeys(r.SupportedFeatures),
		}
		if d.Port == 22 {
			b.Target.Port = 0
		}
		if len(b.Systems) == 0 && s.System != "" {
			b.Systems = []string{s.System}
		}
		out = append(out, b)
	}
	return out, nil
}

// setKeys returns the keys of a CUE set ([string]: bool) whose value is
// true, sorted.
func setKeys(m map[string]bool) []string {
	var out []string
	for k, on := range m {
		if on {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// flakeRef turns DriverOptions.Flake into a flake reference: file paths
// become absolute "path:" references.
func flakeRef(s string) (string, error) {
	if s == "" || !(filepath.IsAbs(s) || s == "." || s == ".." ||
		strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")) {
		return s, nil
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return "", err
	}
	return "path:" + abs, nil
}

// generatedFlakeRef returns the flake reference of the generated flake in
// outDir. Generated modules refer to files outside it (the secrets), so
// inside a git work tree it is the whole tree with dir= pointing at
// outDir, as nix copies flakes by their root; Nix then sees only files git
// tracks, as with any flake in git. Elsewhere it is outDir as a "path:"
// flake (Nix 2.8 takes dir= only for git and tarball flakes).
func generatedFlakeRef(outDir string) string {
	d, ok := gitRoot(outDir)
	if !ok {
		return "path:" + outDir
	}
	rel, err := filepath.Rel(d, outDir)
	if err != nil || rel == "." {
		return "git+file://" + d
	}
	return "git+file://" + d + "?dir=" + filepath.ToSlash(rel)
}

// deploySettings are the fields of a host's value the driver needs.
type deploySettings struct {
	System string `json:"system"`
	// The roles that decide a host's default wave.
	Nix struct {
		Serve struct {
			Enable bool `json:"enable"`
		} `json:"serve"`
	} `json:"nix"`
	Features struct {
		Monitoring struct {
			Enable bool   `json:"enable"`
			Role   string `json:"role"`
		} `json:"monitoring"`
	} `json:"features"`
	Network struct {
		Tailscale struct {
			Enable          bool            `json:"enable"`
			AdvertiseRoutes map[string]bool `json:"advertiseRoutes"`
			ExitNode        bool            `json:"exitNode"`
		} `json:"tailscale"`
	} `json:"network"`
	Deploy struct {
		TargetHost  string `json:"targetHost"`
		TargetUser  string `json:"targetUser"`
		Port        int    `json:"port"`
		BuildOn     string `json:"buildOn"`
		Builder     string `json:"builder"`
		BuilderRole *struct {
			Systems           map[string]bool `json:"systems"`
			MaxJobs           int             `json:"maxJobs"`
			SpeedFactor       int             `json:"speedFactor"`
			SupportedFeatures map[string]bool `json:"supportedFeatures"`
		} `json:"builderRole"`
		Activation string           `json:"activation"`
		Health     healthSettings   `json:"health"`
		Rollback   rollbackSettings `json:"rollback"`
		Wave       *int             `json:"wave"`
		Canary     bool             `json:"canary"`
	} `json:"deploy"`
}

// healthSettings are a host's deploy.health. The pointers are nil when a
// setting is absent, which means its schema default.
type healthSettings struct {
	SystemState *bool           `json:"systemState"`
	Ports       *bool           `json:"ports"`
	Endpoints   *bool           `json:"endpoints"`
	Units       map[string]bool `json:"units"`
	TCP         map[string]struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"tcp"`
	HTTP map[string]struct {
		URL    string `json:"url"`
		Status int    `json:"status"`
	} `json:"http"`
	Commands map[string]string `json:"commands"`
	Timeout  string            `json:"timeout"`
	Interval string            `json:"interval"`
}

// rollbackSettings are a host's deploy.rollback, with nil meaning the
// schema default as in healthSettings.
type rollbackSettings struct {
	Magic             *bool  `json:"magic"`
	ConfirmTimeout    string `json:"confirmTimeout"`
	ActivationTimeout string `json:"activationTimeout"`
	Enable            *bool  `json:"enable"`
}

// on returns *b, or true when b is nil: every boolean of deploy.health and
// deploy.rollback defaults to true.
func on(b *bool) bool { return b == nil || *b }

// nixosFacts are the parts of a host's NixOS configuration its health
// checks come from.
type nixosFacts struct {
	Networking struct {
		Firewall struct {
			AllowedTCPPorts []int `json:"allowedTCPPorts"`
		} `json:"firewall"`
	} `json:"networking"`
	Services struct {
		Prometheus struct {
			Exporters map[string]struct {
				Enable bool `json:"enable"`
				Port   int  `json:"port"`
			} `json:"exporters"`
		} `json:"prometheus"`
	} `json:"services"`
}

// The magic rollback's confirm timeout is the health checks' worst case
// plus this margin, so slow checks never race the target's watchdog.
const confirmMargin = 30 * time.Second

// modelHost converts h for the driver. ref is the flake its system comes
// from (nil for Ping, which builds nothing); dep is nil but for Deploy,
// which alone needs health checks and rollback settings.
func modelHost(h *Host, ref *string, opts *DriverOptions, dep *DeployOptions) (*model.Host, error) {
	var s deploySettings
	if err := json.Unmarshal(h.JSON(), &s); err != nil {
		return nil, fmt.Errorf("host %s: reading deploy settings: %v", h.Name, err)
	}
	d := s.Deploy
	mh := &model.Host{
		Name:       h.Name,
		Tags:       h.Tags,
		System:     s.System,
		Target:     model.Target{Address: d.TargetHost, User: d.TargetUser, Port: d.Port},
		Activation: model.Activation(d.Activation),
		Canary:     d.Canary,
	}
	mh.Wave, mh.WaveReason = waveOf(&s)
	if d.Port == 22 {
		mh.Target.Port = 0 // ssh's default, or what ssh_config says
	}
	if opts.TargetRoot != "" {
		mh.Target.Root = strings.ReplaceAll(opts.TargetRoot, "{host}", h.Name)
	}
	if ref != nil {
		mh.Toplevel = model.FlakeAttr{Ref: *ref, Attr: model.ToplevelAttr(h.Name)}
	}
	switch d.BuildOn {
	case "", "local":
		mh.Build.Where = model.BuildLocal
	case "remote":
		mh.Build.Where = model.BuildRemote
		t, err := parseTarget(d.Builder)
		if err != nil {
			return nil, fmt.Errorf("host %s: deploy.builder: %v", h.Name, err)
		}
		mh.Build.Host = t
	case "target":
		mh.Build.Where = model.BuildOnTarget
	default:
		return nil, fmt.Errorf("host %s: unknown deploy.buildOn %q", h.Name, d.BuildOn)
	}
	if dep == nil {
		return mh, nil
	}
	if dep.Mode != "" {
		mh.Activation = model.Activation(dep.Mode)
	}
	hc, err := healthChecks(h, mh.Target.Address, &d.Health, dep)
	if err != nil {
		return nil, err
	}
	mh.Health = hc
	rb := d.Rollback
	mh.Rollback = model.Rollback{Magic: on(rb.Magic), Disabled: !on(rb.Enable)}
	if rb.ActivationTimeout != "" {
		if mh.Rollback.ActivationTimeout, err = parseDuration(rb.ActivationTimeout); err != nil {
			return nil, fmt.Errorf("host %s: deploy.rollback.activationTimeout: %v", h.Name, err)
		}
	}
	if rb.ConfirmTimeout != "" {
		if mh.Rollback.ConfirmTimeout, err = parseDuration(rb.ConfirmTimeout); err != nil {
			return nil, fmt.Errorf("host %s: deploy.rollback.confirmTimeout: %v", h.Name, err)
		}
	} else {
		n := len(hc.Units) + len(hc.TCP) + len(hc.HTTP) + len(hc.Commands)
		if hc.SystemState {
			n++
		}
		timeout := hc.Timeout
		if timeout == 0 {
			timeout = build.DefaultHealthTimeout
		}
		mh.Rollback.ConfirmTimeout = time.Duration(n)*timeout + confirmMargin
	}
	return mh, nil
}

// healthChecks returns h's health checks: those its deploy.health s
// declares, after those derived from its NixOS configuration that s and
// dep.SkipChecks leave on. dep.HealthTimeout, when set, overrides s's
// timeout.
func healthChecks(h *Host, addr string, s *healthSettings, dep *DeployOptions) (model.HealthChecks, error) {
	skip := map[CheckKind]bool{}
	for _, k := range dep.SkipChecks {
		skip[k] = true
	}
	skip[CheckSystemState] = skip[CheckSystemState] || !on(s.SystemState)
	skip[CheckPorts] = skip[CheckPorts] || !on(s.Ports)
	skip[CheckEndpoints] = skip[CheckEndpoints] || !on(s.Endpoints)
	hc := model.HealthChecks{SystemState: !skip[CheckSystemState], Timeout: dep.HealthTimeout}
	for _, f := range []struct {
		name string
		val  string
		dst  *time.Duration
	}{{"timeout", s.Timeout, &hc.Timeout}, {"interval", s.Interval, &hc.Interval}} {
		if f.val == "" || *f.dst != 0 {
			continue
		}
		v, err := parseDuration(f.val)
		if err != nil {
			return hc, fmt.Errorf("host %s: deploy.health.%s: %v", h.Name, f.name, err)
		}
		*f.dst = v
	}
	if !skip[CheckPorts] || !skip[CheckEndpoints] {
		if err := derivedChecks(h, addr, skip, &hc); err != nil {
			return hc, err
		}
	}
	for _, u := range sortedKeys(s.Units) {
		if s.Units[u] {
			hc.Units = append(hc.Units, u)
		}
	}
	for _, name := range sortedKeys(s.TCP) {
		c := s.TCP[name]
		hc.TCP = append(hc.TCP, model.TCPCheck{Host: c.Host, Port: c.Port})
	}
	for _, name := range sortedKeys(s.HTTP) {
		c := s.HTTP[name]
		hc.HTTP = append(hc.HTTP, model.HTTPCheck{URL: c.URL, Status: c.Status})
	}
	for _, name := range sortedKeys(s.Commands) {
		hc.Commands = append(hc.Commands, model.CommandCheck{Name: name, Command: s.Commands[name]})
	}
	return hc, nil
}

// parseDuration reads a #Duration: digits and one unit of ms, s, m, h, d
// (24 hours) or w (7 days).
func parseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute},
		{"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}}
	for _, u := range units {
		digits, ok := strings.CutSuffix(s, u.suffix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(u.unit) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(n) * u.unit, nil
	}
	return 0, fmt.Errorf("bad duration %q (want digits and one of ms, s, m, h, d, w)", s)
}

// derivedChecks adds to hc the checks of h's NixOS configuration that skip
// leaves on: its exporters' endpoints and its firewall's open TCP ports.
func derivedChecks(h *Host, addr string, skip map[CheckKind]bool, hc *model.HealthChecks) error {
	if h.h.NixOS() == nil {
		return fmt.Errorf("host %s: the fleet was loaded without Config.NixOS; health checks need the hosts' NixOS configurations", h.Name)
	}
	var nf nixosFacts
	if err := json.Unmarshal(h.h.NixOS(), &nf); err != nil {
		return fmt.Errorf("host %s: reading its NixOS configuration: %v", h.Name, err)
	}
	viaHTTP := map[int]bool{}
	if !skip[CheckEndpoints] {
		names := make([]string, 0, len(nf.Services.Prometheus.Exporters))
		for name := range nf.Services.Prometheus.Exporters {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			e := nf.Services.Prometheus.Exporters[name]
			if !e.Enable || e.Port == 0 {
				continue
			}
			viaHTTP[e.Port] = true
			hc.HTTP = append(hc.HTTP, model.HTTPCheck{
				URL: "http://" + net.JoinHostPort(addr, strconv.Itoa(e.Port)) + "/metrics"})
		}
	}
	if !skip[CheckPorts] {
		ports := append([]int(nil), nf.Networking.Firewall.AllowedTCPPorts...)
		sort.Ints(ports)
		for i, p := range ports {
			if viaHTTP[p] || i > 0 && ports[i-1] == p {
				continue // checked better by its endpoint, or already listed
			}
			hc.TCP = append(hc.TCP, model.TCPCheck{Port: p})
		}
	}
	return nil
}

// parseTarget reads an ssh address "[user@]host[:port]", as
// deploy.builder gives it.
func parseTarget(s string) (model.Target, error) {
	var t model.Target
	if s == "" {
		return t, errors.New("no builder address")
	}
	if u, rest, ok := strings.Cut(s, "@"); ok {
		t.User, s = u, rest
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return t, fmt.Errorf("bad port in %q", s)
		}
		t.Address, t.Port = host, p
		return t, nil
	}
	t.Address = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return t, nil
}
