package build

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"fleetnix.dev/fleet/internal/model"
)

// remoteScript is the activation protocol run on targets; see its header.
//
//go:embed remote.sh
var remoteScript string

// Default timeouts of model.Rollback and model.HealthChecks.
const (
	DefaultConfirmTimeout    = 30 * time.Second
	DefaultActivationTimeout = 10 * time.Minute
	DefaultHealthTimeout     = 60 * time.Second
	DefaultHealthInterval    = time.Second
)

// Apply carries out plan wave by wave (model.Host.Wave, lowest first). In
// each wave, the canaries (model.Host.Canary) go first and the rest of
// the wave only when every canary is healthy; the next wave starts only
// when every host of the wave is healthy. A host that failed, or could not
// be planned, fails its wave: no further host is started, those not
// started come back Skipped saying why, and with the rollback policy
// (Options.Rollout) the hosts of the failed wave already deployed go back
// to their previous generation. Hosts refused by the caller (Plan.Refuse)
// are left alone without failing their wave.
//
// For every host it deploys, it builds the new system (unless Preview
// did), copies it to the target (unless built there) and finds out what
// activating it will change (a Preview, reported in an OpPreview event and
// kept in Result.Preview), all hosts of a stage (a wave's canaries, or
// the rest of it) before any of them activates; then it activates each,
// runs the health checks and confirms it; when activation or a check fails
// it rolls the host back to the generation it ran before. Builds run at
// most Options.Jobs at a time, everything else at most Options.NetJobs,
// and no more hosts of a wave are down at once than Options.Rollout
// allows (see budget).
// Skipped hosts come back UpToDate, hosts whose planning failed come back
// Failed. The results are in plan order.
//
// Canceling ctx stops builds and copies, lets activations under way finish
// (at most Options.CancelGrace), rolls those hosts back, and returns a
// result for every host.
func Apply(ctx context.Context, plan *Plan, opts *Options) []Result {
	d := newDriver(opts)
	a := &applier{d: d, plan: plan, results: make([]Result, len(plan.Hosts)),
		sessions: make([]*session, len(plan.Hosts)), deployID: newDeployID()}
	d.waves = map[string]int{}
	for i := range plan.Hosts {
		hp := &plan.Hosts[i]
		d.waves[hp.Host.Name] = hp.Host.Wave
		r := &a.results[i]
		*r = Result{Host: hp.Host.Name, Wave: hp.Host.Wave, Status: Skipped, StorePath: hp.New,
			Previous: hp.Current, Current: hp.Current}
		switch hp.Action {
		case ActionSkip:
			r.Status = UpToDate
		case ActionFail:
			r.Status, r.Err = Failed, hp.Err
		case ActionRefuse:
			r.Status, r.Err = Refused, hp.Err
		}
	}
	var stopped string // why the rollout stopped; "" while it goes on
	for _, w := range plan.Waves() {
		before := stopped
		stages := [][]int{w.Canaries, w.Rest}
		act := a.activationLimit(w)
		for si, stage := range stages {
			if len(stage) == 0 {
				continue
			}
			if stopped != "" || ctx.Err() != nil {
				a.notStarted(ctx, stage, stopped)
				continue
			}
			if !a.pending(stage) {
				if failed := a.failed(stage); failed != "" {
					stopped = fmt.Sprintf("wave %d failed: %s", w.Number, failed)
				}
				continue
			}
			what := fmt.Sprintf("wave %d", w.Number)
			if si == 0 {
				what = fmt.Sprintf("wave %d canaries", w.Number)
			}
			d.ev.emit(Event{Wave: w.Number, Op: OpRollout, Kind: EventStart, Msg: what + ": " + a.names(stage)})
			a.stage(ctx, stage, act)
			if failed := a.failed(stage); failed != "" {
				if si == 0 {
					failed = "canary " + failed
				}
				stopped = fmt.Sprintf("wave %d failed: %s", w.Number, failed)
			}
		}
		if stopped == before || !a.touched(w) || ctx.Err() != nil {
			if stopped == "" && ctx.Err() == nil && a.deploys(w.Hosts()) {
				d.ev.emit(Event{Wave: w.Number, Op: OpRollout, Kind: EventDone, Msg: fmt.Sprintf("wave %d healthy", w.Number)})
			}
			continue
		}
		msg := "rollout stopped: " + stopped
		if opts != nil && opts.Rollout.OnFailure == model.RollbackWave {
			msg += "; rolling back the wave"
		}
		d.ev.emit(Event{Wave: w.Number, Op: OpRollout, Kind: EventFail, Msg: msg})
		if opts != nil && opts.Rollout.OnFailure == model.RollbackWave {
			a.revert(ctx, w, stopped)
		}
	}
	return a.results
}

// An applier is the state of one Apply.
type applier struct {
	d        *driver
	plan     *Plan
	results  []Result
	sessions []*session // per host, once its activation began
	deployID string
}

// activationLimit returns the bound of w's activations, or nil when any
// number may activate at once.
func (a *applier) activationLimit(w Wave) *budget {
	n := 0
	for _, i := range w.Hosts() {
		if a.plan.Hosts[i].Action == ActionDeploy {
			n++
		}
	}
	if a.d.opts.Rollout.Limit(n) == 0 {
		return nil
	}
	return newBudget(w.Number, a.d.opts.Rollout.Limit(n))
}

// stage deploys the hosts of one stage of a wave: first it builds, copies
// and previews all of them (prepare), so that what activating each will
// change is known before any of them activates; then it activates them,
// all at once or as act allows.
func (a *applier) stage(ctx context.Context, hosts []int, act *budget) {
	a.d.each(len(hosts), func(k int) {
		i := hosts[k]
		hp, r := &a.plan.Hosts[i], &a.results[i]
		if hp.Action != ActionDeploy || ctx.Err() != nil || a.d.stop.stopped() {
			return
		}
		start := time.Now()
		if err := a.d.prepare(ctx, hp, r); err != nil {
			r.Status, r.Err = Failed, err
			if IsKind(err, KindCanceled) {
				r.Status = Canceled
			}
			a.d.emit(hp.Host.Name, opOf(err), EventFail, err.Error(), err)
			a.d.stop.fail(a.d.opts.FailFast)
		}
		r.Duration = time.Since(start)
	})
	a.d.each(len(hosts), func(k int) {
		i := hosts[k]
		hp, r := &a.plan.Hosts[i], &a.results[i]
		if hp.Action != ActionDeploy || r.Status != Skipped || r.Err != nil {
			return
		}
		start := time.Now()
		a.sessions[i] = a.d.deploy(ctx, hp, a.deployID+"-"+tokenSafe(hp.Host.Name), r, act)
		r.Duration += time.Since(start)
		if !r.Status.OK() && r.Status != Skipped {
			a.d.stop.fail(a.d.opts.FailFast)
		}
	})
}

// pending reports whether any of hosts is still to be deployed: planned
// for it, and neither failed nor finished.
func (a *applier) pending(hosts []int) bool {
	for _, i := range hosts {
		if a.plan.Hosts[i].Action == ActionDeploy && a.results[i].Status == Skipped && a.results[i].Err == nil {
			return true
		}
	}
	return false
}

// A budget bounds the activations of one wave (model.Rollout's
// MaxUnavailable): a host of the wave is unavailable from the start of
// its activation until it is confirmed, and for the rest of the
// deployment once it failed, since it did not come up healthy on its new
// generation. So at most n hosts of the wave are down at once, and once n
// of them have failed no further host of the wave activates.
type budget struct {
	wave  int
	slots limiter
	full  chan struct{} // closed when n hosts failed
	mu    sync.Mutex
	down  []string // the hosts that failed
}

func newBudget(wave, n int) *budget {
	return &budget{wave: wave, slots: make(limiter, n), full: make(chan struct{})}
}

// acquire takes a place for one activation, waiting for one. It fails
// when ctx ends first (a *Error of KindCanceled) or when the wave's
// failed hosts hold every place (a *Error of OpRollout).
func (b *budget) acquire(ctx context.Context, host string) error {
	select {
	case b.slots <- struct{}{}:
		b.mu.Lock()
		full := len(b.down) == cap(b.slots)
		b.mu.Unlock()
		if !full {
			return nil
		}
		b.slots.release()
	case <-b.full:
	case <-ctx.Done():
		return &Error{Host: host, Op: OpActivate, Kind: KindCanceled, ExitCode: -1, Err: ctx.Err()}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return &Error{Host: host, Op: OpRollout, Kind: KindOther, ExitCode: -1,
		Err: fmt.Errorf("not deployed: %s of wave %d failed, as many hosts as the rollout's maxUnavailable lets be down at once", strings.Join(b.down, ", "), b.wave)}
}

// release gives back the place of host, whose activation ended: the place
// is free again unless the host failed.
func (b *budget) release(host string, failed bool) {
	if !failed {
		b.slots.release()
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = append(b.down, host)
	if len(b.down) == cap(b.slots) {
		close(b.full)
	}
}

// failed describes the hosts of a stage that failed, or returns "".
func (a *applier) failed(hosts []int) string {
	var out []string
	for _, i := range hosts {
		r := &a.results[i]
		switch r.Status {
		case Failed, RolledBack, Canceled, RollbackFailed, Lost:
			out = append(out, r.Host+" "+r.Status.String())
		}
	}
	return strings.Join(out, ", ")
}

// deploys reports whether any of hosts is to be deployed.
func (a *applier) deploys(hosts []int) bool {
	for _, i := range hosts {
		if a.plan.Hosts[i].Action == ActionDeploy {
			return true
		}
	}
	return false
}

// touched reports whether any host of w was deployed or attempted.
func (a *applier) touched(w Wave) bool {
	for _, i := range w.Hosts() {
		if a.plan.Hosts[i].Action != ActionSkip && a.plan.Hosts[i].Action != ActionRefuse {
			return true
		}
	}
	return false
}

// names lists the hosts to deploy among hosts.
func (a *applier) names(hosts []int) string {
	var names []string
	for _, i := range hosts {
		if a.plan.Hosts[i].Action == ActionDeploy {
			names = append(names, a.plan.Hosts[i].Host.Name)
		}
	}
	return strings.Join(names, ", ")
}

// notStarted records that the hosts to deploy among hosts were not
// started, because the rollout stopped (why) or ctx ended.
func (a *applier) notStarted(ctx context.Context, hosts []int, why string) {
	for _, i := range hosts {
		hp := &a.plan.Hosts[i]
		if hp.Action != ActionDeploy {
			continue
		}
		r := &a.results[i]
		if why == "" {
			r.Err = skippedErr(ctx, hp.Host.Name, OpBuild)
			continue
		}
		r.Err = &Error{Host: hp.Host.Name, Op: OpRollout, Kind: KindOther, ExitCode: -1,
			Err: fmt.Errorf("not deployed: %s", why)}
	}
}

// revert takes the hosts of w that were deployed back to their previous
// generation, after the wave failed (why).
func (a *applier) revert(ctx context.Context, w Wave, why string) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), a.d.opts.grace())
		defer cancel()
	}
	a.d.each(len(w.Hosts()), func(k int) {
		i := w.Hosts()[k]
		r, s := &a.results[i], a.sessions[i]
		if r.Status != Deployed || s == nil {
			return
		}
		a.d.emit(r.Host, OpRollback, EventStart, "rolling back with its wave to "+r.Previous, nil)
		out, err := s.action(ctx, OpRollback, "revert")
		kv := parseKV(string(out), "fleet: ")
		r.Err = &Error{Host: r.Host, Op: OpRollout, Kind: KindOther, ExitCode: -1,
			Err: fmt.Errorf("rolled back with its wave: %s", why)}
		switch {
		case err == nil && kv["result"] == "reverted":
			r.Status, r.Current = RolledBack, kv["current"]
			a.d.emit(r.Host, OpRollback, EventDone, r.Current, nil)
		default:
			if err == nil {
				err = errorf(r.Host, OpRollback, KindOther, "target reports %q", kv["result"])
			}
			r.Status, r.Current, r.RollbackErr = RollbackFailed, "", err
			a.d.emit(r.Host, OpRollback, EventFail, err.Error(), err)
		}
	})
}

// Deploy plans the deployment of hosts and applies the plan: PlanDeploy
// followed by Apply.
func Deploy(ctx context.Context, hosts []*model.Host, opts *Options) (*Plan, []Result) {
	p := PlanDeploy(ctx, hosts, opts)
	return p, Apply(ctx, p, opts)
}

func newDeployID() string {
	var b [6]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// tokenSafe keeps the characters of s that are safe in a file name.
func tokenSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// A session is one host's deployment under way.
type session struct {
	d     *driver
	h     *model.Host
	token string
	mode  model.Activation
	magic time.Duration // confirm timeout; 0 without magic rollback
	limit time.Duration // activation timeout; 0 without magic rollback
}

func (s *session) stateDir() string { return s.h.Target.Root + "/run/fleet" }
func (s *session) scriptPath() string {
	return s.stateDir() + "/" + s.token + ".sh"
}

// deploy activates the new system of one host, which prepare built and
// copied, checks its health and confirms it, and fills in r. act, when
// not nil, bounds the activations of the host's wave. It returns the
// host's session once activation began, for rolling the wave back; nil
// before.
func (d *driver) deploy(ctx context.Context, hp *HostPlan, token string, r *Result, act *budget) *session {
	h := hp.Host
	s := &session{d: d, h: h, token: token, mode: h.Activation}
	if s.mode == "" {
		s.mode = model.Switch
	}
	if h.Rollback.Magic && s.mode != model.Boot {
		s.magic = h.Rollback.ConfirmTimeout
		if s.magic <= 0 {
			s.magic = DefaultConfirmTimeout
		}
	}
	if h.Rollback.Magic {
		s.limit = h.Rollback.ActivationTimeout
		if s.limit <= 0 {
			s.limit = DefaultActivationTimeout
		}
	}
	r.Current = hp.Current
	fail := func(err error) {
		r.Err = err
		r.Status = Failed
		if IsKind(err, KindCanceled) {
			r.Status = Canceled
		}
		d.emit(h.Name, opOf(err), EventFail, err.Error(), err)
	}
	if !s.mode.Valid() {
		fail(errorf(h.Name, OpActivate, KindOther, "unknown activation mode %q", s.mode))
		return nil
	}
	// notAttempted leaves the host alone before activation: after
	// cancellation, or when another host failed under FailFast.
	notAttempted := func() bool {
		if ctx.Err() == nil && !d.stop.stopped() {
			return false
		}
		r.Status, r.Err = Skipped, skippedErr(ctx, h.Name, OpBuild)
		return true
	}
	if notAttempted() {
		return nil
	}

	// prepare built the new system and copied it.
	path := hp.Built
	if act != nil {
		if err := act.acquire(ctx, h.Name); err != nil {
			r.Err = err
			if IsKind(err, KindCanceled) {
				r.Status = Canceled
			}
			d.emit(h.Name, opOf(err), EventNote, err.Error(), err)
			return nil
		}
		defer func() {
			act.release(h.Name, !r.Status.OK() && r.Status != Skipped && r.Status != Canceled)
		}()
	}
	if err := ctx.Err(); err != nil {
		fail(&Error{Host: h.Name, Op: OpActivate, Kind: KindCanceled, ExitCode: -1, Err: err})
		return nil
	}
	if notAttempted() {
		return nil
	}

	// Activate. From here on the host is being changed: every way out
	// must leave it on its old or its new generation.
	d.emit(h.Name, OpActivate, EventStart, string(s.mode)+" "+path, nil)
	out, tail, err := s.activate(ctx, path)
	kv := parseKV(string(out), "fleet: ")
	if kv["old"] != "" {
		r.Previous = kv["old"]
	}
	if err != nil && ctx.Err() != nil {
		s.cancelRollback(ctx, r, err)
		return s
	}
	if err != nil {
		// Lost while activating: the activation goes on without us.
		cause := err
		kv, err = s.recover(ctx, err)
		if err != nil {
			r.Status, r.Err = Lost, err
			r.Current = ""
			d.emit(h.Name, OpActivate, EventFail, err.Error(), err)
			return s
		}
		if kv["started"] == "0" {
			// The connection failed before activation began.
			fail(cause)
			return s
		}
		if kv["old"] != "" {
			r.Previous = kv["old"]
		}
	}
	if st := kv["status"]; st != "0" {
		code, _ := strconv.Atoi(st)
		aerr := &Error{Host: h.Name, Op: OpActivate, Kind: KindExit, ExitCode: code, Stderr: tail}
		switch kv["ended"] {
		case "killed":
			aerr.Kind, aerr.ExitCode = KindOther, -1
			aerr.Err = errors.New("activation was killed before it finished")
		case "hung":
			aerr.Kind, aerr.ExitCode = KindTimeout, -1
			aerr.Err = fmt.Errorf("activation still ran after %v; the target's watchdog killed it", s.limit)
		case "not-started":
			aerr.Kind, aerr.ExitCode = KindOther, -1
			aerr.Err = errors.New("activation never started on the target")
		}
		r.Err = aerr
		switch kv["result"] {
		case "rolled-back":
			r.Status, r.Current = RolledBack, r.Previous
		case "rollback-failed":
			r.Status = RollbackFailed
			r.RollbackErr = errorf(h.Name, OpRollback, KindOther, "rolling back after the failed activation failed too; see the target's %s/%s.log", s.stateDir(), s.token)
		case "not-started":
			r.Status, r.Current = Failed, r.Previous
		default:
			// Rollback disabled: left on the new generation, or, when
			// the activation did not end by itself, wherever it stopped.
			r.Status, r.Current = Failed, path
			if kv["ended"] != "exited" {
				r.Current = ""
			}
		}
		d.emit(h.Name, OpActivate, EventFail, aerr.Error(), aerr)
		return s
	}
	d.emit(h.Name, OpActivate, EventDone, "", nil)
	r.Current = path

	// Check. Boot activations change nothing that runs, so there is
	// nothing to check.
	if s.mode != model.Boot && !h.Health.IsZero() {
		d.emit(h.Name, OpHealth, EventStart, "", nil)
		if herr := d.checkHealth(ctx, h); herr != nil {
			d.emit(h.Name, OpHealth, EventFail, herr.Error(), herr)
			if IsKind(herr, KindCanceled) {
				s.cancelRollback(ctx, r, herr)
				return s
			}
			r.Err = herr
			if h.Rollback.Disabled {
				r.Status = Failed
				return s
			}
			s.rollback(ctx, r)
			return s
		}
		d.emit(h.Name, OpHealth, EventDone, "", nil)
	}
	if err := ctx.Err(); err != nil {
		s.cancelRollback(ctx, r, &Error{Host: h.Name, Op: OpConfirm, Kind: KindCanceled, ExitCode: -1, Err: err})
		return s
	}

	// Confirm: take the lock before the watchdog does.
	out, err = s.action(ctx, OpConfirm, "confirm")
	kv = parseKV(string(out), "fleet: ")
	switch {
	case err == nil:
		r.Status = Deployed
		d.emit(h.Name, OpConfirm, EventDone, "deployed", nil)
	case kv["result"] == "magic-rolled-back":
		r.Status, r.Current = RolledBack, r.Previous
		r.Err = &Error{Host: h.Name, Op: OpConfirm, Kind: KindTimeout, ExitCode: -1,
			Err: fmt.Errorf("not confirmed within %v of activation; the target rolled back by itself", s.magic)}
		d.emit(h.Name, OpConfirm, EventFail, r.Err.Error(), r.Err)
	case ctx.Err() != nil:
		s.cancelRollback(ctx, r, err)
	default:
		// Could not confirm. With magic rollback the target reverts by
		// itself; without, it stays on the new generation.
		r.Err = err
		r.Status = Lost
		if s.magic > 0 {
			r.Current = ""
		}
		d.emit(h.Name, OpConfirm, EventFail, err.Error(), err)
	}
	return s
}

// activationTail returns the stderr tail an activation error carries.
func activationTail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Stderr
	}
	return ""
}

// activate uploads the protocol script and runs its activate action, which
// returns when the detached runner has finished (and, on failure, rolled
// back). A non-nil error means the outcome is unknown: the connection
// failed or ctx ended.
func (s *session) activate(ctx context.Context, path string) (out []byte, stderr string, err error) {
	confirm := seconds(s.magic)
	limit := seconds(s.limit)
	rollback := "1"
	if s.h.Rollback.Disabled {
		rollback = "0"
	}
	// Upload the script and check its size before running it: a
	// connection lost during the upload ends cat's input early, and a
	// truncated protocol must never run.
	tmp := s.scriptPath() + ".part"
	script := shellLine("mkdir", "-p", s.stateDir()) + " && " +
		"cat > " + shellQuote(tmp) + " && " +
		`[ "$(wc -c < ` + shellQuote(tmp) + `)" -eq ` + strconv.Itoa(len(remoteScript)) + " ] && " +
		shellLine("mv", tmp, s.scriptPath()) + " && " +
		shellLine("sh", s.scriptPath(), "activate", s.h.Target.Root, s.token,
			path, string(s.mode), strconv.Itoa(confirm), strconv.Itoa(limit), rollback)
	out, err = s.d.run(ctx, command{host: s.h.Name, op: OpActivate, remote: true,
		argv: s.d.ssh(s.h.Target, asRoot(s.h.Target, script)), stdin: strings.NewReader(remoteScript), tail: &stderr})
	if err != nil {
		kv := parseKV(string(out), "fleet: ")
		if _, done := kv["status"]; done {
			// The runner finished and reported; only the session's
			// exit went wrong (a non-zero status is expected there, since
			// the failure tail goes to stderr).
			return out, stderr, activationOutcome(err)
		}
		var e *Error
		if errors.As(err, &e) && e.Kind == KindUnreachable {
			e.Kind = KindLost
			e.Err = errors.New("connection lost during activation")
		}
	}
	return out, stderr, err
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// activationOutcome turns the error of an activate session that did report
// the runner's status into no error: the status says what happened. The
// error's stderr tail is kept for the result.
func activationOutcome(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindExit {
		return nil
	}
	return err
}

// action runs one action of the protocol script on the target. When the
// script never arrived, activation never started, and the action reports
// just that.
func (s *session) action(ctx context.Context, op Op, name string, args ...string) ([]byte, error) {
	words := append([]string{"sh", s.scriptPath(), name, s.h.Target.Root, s.token}, args...)
	script := "if [ -e " + shellQuote(s.scriptPath()) + " ]; then " + shellLine(words...) +
		"; else echo 'fleet: started=0'; echo 'fleet: result=not-started'; fi"
	return s.d.run(ctx, command{host: s.h.Name, op: op, remote: true, argv: s.d.ssh(s.h.Target, asRoot(s.h.Target, script))})
}

// asRoot returns the shell command line script, run with root's
// privileges on t: as it is when t's user is root (or ssh's default, which
// fleet's hosts never leave it to), else through sudo. sudo runs with -n,
// so a target whose sudo wants a password fails instead of waiting for
// one; the script's standard input passes through.
func asRoot(t model.Target, script string) string {
	if t.User == "" || t.User == "root" {
		return script
	}
	return shellLine("sudo", "-n", "sh", "-c", script)
}

// recover is called when the connection broke while activating. It keeps
// trying to reach the target for the magic rollback's confirm timeout plus
// Options.Reconnect, and returns the activation's outcome once the runner has
// finished. It fails when the host stays out of reach.
func (s *session) recover(ctx context.Context, cause error) (map[string]string, error) {
	d := s.d
	d.emit(s.h.Name, OpActivate, EventNote, "lost contact during activation; reconnecting", cause)
	deadline := time.Now().Add(s.magic + d.opts.reconnect())
	notStarted := 0
	for {
		out, err := s.action(ctx, OpActivate, "status")
		if err == nil {
			kv := parseKV(string(out), "fleet: ")
			if _, ok := kv["status"]; ok {
				return kv, nil
			}
			// Twice in a row, a second apart: the session that would
			// have started the runner is gone, so it never will.
			if kv["started"] == "0" {
				if notStarted++; notStarted == 2 {
					return kv, nil
				}
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			what := "the activation runs to its end on the target, which keeps whichever generation it reached"
			if s.magic > 0 {
				what = fmt.Sprintf("it was never confirmed, so the target rolls back by itself within %v of activating", s.magic)
			}
			return nil, &Error{Host: s.h.Name, Op: OpActivate, Kind: KindLost, ExitCode: -1,
				Err: fmt.Errorf("lost contact during activation and could not reconnect; %s", what), Stderr: activationTail(cause)}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// rollback runs the protocol's rollback action after a failed health
// check and records the outcome in r, whose Err is already set.
func (s *session) rollback(ctx context.Context, r *Result) {
	d := s.d
	d.emit(s.h.Name, OpRollback, EventStart, "rolling back to "+r.Previous, nil)
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), d.opts.grace())
		defer cancel()
	}
	out, err := s.action(ctx, OpRollback, "rollback")
	kv := parseKV(string(out), "fleet: ")
	switch {
	case err != nil:
		r.RollbackErr = err
		r.Status, r.Current = RollbackFailed, ""
		if s.magic > 0 {
			// The watchdog still reverts the host.
			r.Status = Lost
		}
	case kv["result"] == "rolled-back" || kv["result"] == "magic-rolled-back":
		r.Status, r.Current = RolledBack, kv["current"]
	case kv["result"] == "not-started":
		r.Status, r.Current = Failed, kv["current"]
	default:
		r.Status, r.Current = RollbackFailed, kv["current"]
		r.RollbackErr = errorf(s.h.Name, OpRollback, KindOther, "target reports %q", kv["result"])
	}
	if r.RollbackErr != nil {
		d.emit(s.h.Name, OpRollback, EventFail, r.RollbackErr.Error(), r.RollbackErr)
	} else {
		d.emit(s.h.Name, OpRollback, EventDone, r.Current, nil)
	}
}

// cancelRollback handles cancellation after activation began: it waits,
// with a fresh context bounded by Options.CancelGrace, for the activation
// to finish and rolls the host back, since nothing verified the new
// generation.
func (s *session) cancelRollback(ctx context.Context, r *Result, cause error) {
	r.Err = cause
	s.rollback(ctx, r)
	if r.Status == RolledBack || r.Status == Failed {
		r.Status = Canceled // on the old generation either way
	}
}

// opOf returns the Op of an *Error, or OpBuild.
func opOf(err error) Op {
	var e *Error
	if errors.As(err, &e) {
		return e.Op
	}
	return OpBuild
}
