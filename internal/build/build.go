// Package build plans and runs the building and deployment of a fleet's
// hosts: nix build, asking each target what it runs, nix copy, activation
// through the system profile, health checks and rollback, with bounded
// parallelism and a result per host.
//
// It is the only package of fleet that starts goroutines or processes. It
// never writes to the process's standard output or error: progress goes to
// Options.Events, outcomes come back as Results. It never chooses which
// hosts to act on; callers pass the hosts.
//
// # Deploying
//
// A deployment is PlanDeploy followed by Apply. PlanDeploy evaluates every
// host's toplevel store path (one nix eval for all hosts, no build) and, in
// parallel, asks each target with one ssh round trip what it runs, since
// when, which kernel it booted and what fleet last did to it; hosts already
// on the new closure are skipped and never built. Plan.Preview (a dry run)
// then finds what deploying each host would change: its closure diff, the
// units switch-to-configuration dry-activate would stop, start, restart or
// reload, and whether a reboot is needed. Apply deploys wave by wave
// (model.Host.Wave), canaries first, stopping at the first failed wave;
// per host: build, copy, preview (every host of a stage before any of
// them activates), activate, health checks, confirm. When activation
// or a health check fails the host is rolled back to the generation it ran
// before.
//
// Evaluations and builds are bound by this machine's processors
// (Options.Jobs); everything else mostly waits on networks and targets
// and has a bound of its own (Options.NetJobs).
//
// Activation runs on the target detached from the ssh session, so a lost
// connection cannot interrupt it halfway. A watchdog started on the target
// before activation rolls back an activation that dies or, with magic
// rollback (model.Rollback.Magic), outlives its time limit or is not
// confirmed in time after it. Deployer and watchdog decide who wins with
// one atomic mkdir on the target, so a host ends on its old or its new
// generation, never between. Every change is appended to a journal on the
// target, which tells a system fleet activated from one changed by hand.
//
// Canceling the context stops builds and copies, waits (at most
// Options.CancelGrace) for activations already under way to finish, rolls
// those hosts back, and still returns a Result for every host.
package build

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"fleetnix.dev/fleet/internal/model"
)

// Options configure the driver. The zero value is ready to use: nix and ssh
// from $PATH, default parallelism, no progress reporting.
type Options struct {
	// Jobs bounds the commands that keep this machine's processors busy,
	// evaluations and builds, run at once; 0 means DefaultJobs().
	Jobs int
	// NetJobs bounds the commands that mostly wait on the network or on
	// other machines, run at once: asking targets what they run, copying
	// closures, activating, health checks, confirming and rolling back;
	// 0 means DefaultNetJobs.
	NetJobs int
	// Rollout is the policy of a deployment's waves (model.Host.Wave).
	Rollout model.Rollout
	// FailFast stops starting new hosts once one has failed (for Apply:
	// no further host is built or activated; activations under way
	// finish). By default every host of a wave is attempted, and a failed
	// host stops only the waves after its own.
	FailFast bool
	// Nix is the nix command; empty means "nix" from $PATH.
	Nix string
	// NixArgs are extra arguments given to every local nix command, such
	// as "--option", "substituters", "".
	NixArgs []string
	// RemoteNixArgs are extra arguments given to the nix commands run on
	// targets and build hosts (nix-env, nix-store).
	RemoteNixArgs []string
	// SSH is the ssh command; empty means "ssh" from $PATH.
	SSH string
	// SSHArgs are extra ssh options, such as "-i", "key". They are also
	// passed to nix through NIX_SSHOPTS, which splits on white space, so no
	// argument may contain any.
	SSHArgs []string
	// Env is added to the environment of every command started.
	Env []string
	// Events receives progress. Calls are serialized, so the function need
	// not be safe for concurrent use, but it must not block for long.
	// Nil discards progress.
	Events func(Event)
	// CancelGrace bounds how long, after the context is canceled, the
	// driver waits for activations already under way and rolls them back;
	// 0 means one minute.
	CancelGrace time.Duration
	// Reconnect bounds how long Apply keeps trying to reach a host it
	// lost while activating, counted after the magic rollback's confirm
	// timeout; 0 means ten seconds.
	Reconnect time.Duration
}

// DefaultJobs returns the default bound of evaluations and builds run at
// once: min(runtime.NumCPU(), 8). They are CPU-bound, so more at once than
// CPUs only makes each one slower; past eight, one nix build already
// spreads its own derivations over the cores.
func DefaultJobs() int {
	return min(runtime.NumCPU(), 8)
}

// DefaultNetJobs is the default bound of network-bound commands run at
// once. They spend their time waiting on ssh round trips and remote
// machines, not on this machine's processors, so the CPU count says
// nothing about how many pay off; 16 keeps well under OpenSSH's default
// MaxStartups (10 unauthenticated connections per server, and each target
// is its own server) for a build host serving many hosts, and under the
// deployer's process and file limits.
const DefaultNetJobs = 16

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return DefaultJobs()
}

func (o *Options) netJobs() int {
	if o.NetJobs > 0 {
		return o.NetJobs
	}
	return DefaultNetJobs
}

func (o *Options) grace() time.Duration {
	if o.CancelGrace > 0 {
		return o.CancelGrace
	}
	return time.Minute
}

func (o *Options) reconnect() time.Duration {
	if o.Reconnect > 0 {
		return o.Reconnect
	}
	return 10 * time.Second
}

// An EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	EventStart  EventKind = iota // a step started on a host
	EventDone                    // a step finished on a host
	EventFail                    // a step failed on a host
	EventOutput                  // a line of a command's standard error
	EventExec                    // a command is about to start; Msg is its argv
	EventNote                    // anything else worth saying
)

var eventNames = [...]string{"start", "done", "fail", "output", "exec", "note"}

// Events about a whole wave have Op OpRollout, no Host, and Wave set:
// EventStart when the wave (or its canaries) starts, EventDone when all of
// it is healthy, EventFail when it failed and the rollout stops.

// String returns the name of k.
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// An Event is one piece of progress.
type Event struct {
	// Time is when it happened.
	Time time.Time
	// Host is the host it concerns; empty for fleet-wide events.
	Host string
	// Wave is the rollout wave of Host, or of the wave an OpRollout event
	// is about; 0 outside deployments.
	Wave int
	// Op is the step it belongs to.
	Op Op
	// Kind says what happened.
	Kind EventKind
	// Msg is a human-readable line.
	Msg string
	// Err is set for EventFail, and for an EventNote of something that
	// went wrong without failing the host.
	Err error
	// Preview is what deploying Host will change, on the OpPreview
	// EventDone a deployment reports before activating the host; nil on
	// every other event.
	Preview *Preview
}

// A Status is what happened to a host.
type Status int

// The outcomes for a host. Every status but RollbackFailed and Lost says
// which generation the host is on: the old one (Failed, RolledBack,
// Canceled, Skipped, Refused; UpToDate hosts already ran the new one) or
// the new one (Deployed). Built is for Build, which deploys nothing.
const (
	Skipped        Status = iota // not attempted (FailFast or cancellation before its turn)
	UpToDate                     // already running the new closure; nothing done
	Built                        // built (Build only)
	Deployed                     // activated, checked and confirmed: on the new generation
	Failed                       // failed; on the old generation, unless rollback is disabled (Result.Current says)
	RolledBack                   // activation or a health check failed; back on the old generation
	Canceled                     // stopped by cancellation; on the old generation
	RollbackFailed               // rolling back failed too: the host needs a human
	Lost                         // contact lost after activation began; see Result.Err
	Refused                      // not deployed: its new system would lock the deployer out; on the old generation
)

var statusNames = [...]string{"skipped", "up to date", "built", "deployed", "failed", "rolled back", "canceled", "rollback failed", "lost", "refused"}

// String returns the lower-case name of s, as a summary prints it.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// OK reports whether s is a success: UpToDate, Built or Deployed.
func (s Status) OK() bool { return s == UpToDate || s == Built || s == Deployed }

// A Result is the outcome for one host. Results come back in a slice in the
// order the hosts were given.
type Result struct {
	// Host is the host's name.
	Host string
	// Wave is the rollout wave the host was in; 0 for Build.
	Wave int
	// Status says what happened.
	Status Status
	// StorePath is the host's new system: built, or evaluated when the
	// build did not happen.
	StorePath string
	// Previous is what the host ran before the deployment.
	Previous string
	// Current is what the host runs afterwards as last seen by the
	// deployer; empty when unknown.
	Current string
	// Err is the failure, an *Error; nil when Status.OK().
	Err error
	// RollbackErr is set when rolling back failed as well.
	RollbackErr error
	// Duration is the wall time spent on the host.
	Duration time.Duration
	// Preview is what deploying the host was to change, found out before
	// it was activated; nil when the host was not previewed (not
	// deployed, or its preview failed).
	Preview *Preview
}

// emitter serializes calls to Options.Events.
type emitter struct {
	mu sync.Mutex
	fn func(Event)
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.fn == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fn(ev)
}
