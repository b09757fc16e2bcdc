package build

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"fleetnix.dev/fleet/internal/model"
)

// An Action is what a deployment plan does with a host.
type Action int

// The actions of a plan.
const (
	// ActionDeploy builds, copies and activates the host's new system.
	ActionDeploy Action = iota
	// ActionSkip leaves the host alone: it already runs the new system.
	ActionSkip
	// ActionFail leaves the host alone because planning failed for it
	// (evaluation failed, or the host could not be reached); HostPlan.Err
	// says why.
	ActionFail
)

var actionNames = [...]string{"deploy", "skip", "fail"}

// String returns the name of a.
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(?)"
}

// A Plan is what a deployment will do, host by host, before anything is
// built or changed. Make one with PlanDeploy; run it with Apply.
type Plan struct {
	// Hosts are in the order given to PlanDeploy.
	Hosts []HostPlan
	// Duration is how long planning took.
	Duration time.Duration
}

// A HostPlan is the plan for one host.
type HostPlan struct {
	// Host is the host.
	Host *model.Host
	// Action is what Apply will do.
	Action Action
	// New is the store path of the host's new system, as evaluated.
	New string
	// Drv is the derivation that builds New.
	Drv string
	// Current is what the target runs now (/run/current-system).
	Current string
	// Generation is the target's current system profile generation
	// link, such as "system-42-link"; empty if it has none.
	Generation string
	// Built is the store path of New when it was built already, by
	// DiffClosures; Apply does not build it again.
	Built string
	// Diff is the closure diff from Current to New, set by DiffClosures.
	Diff string
	// Err says why Action is ActionFail, or why DiffClosures failed.
	Err error
}

// PlanDeploy plans the deployment of hosts. It evaluates every host's
// toplevel store path without building (one nix eval for all hosts) while
// asking each target, in parallel and with one ssh round trip per host,
// what it runs now. Hosts already running their new system are skipped
// and will not be built. Planning failures are recorded per host.
func PlanDeploy(ctx context.Context, hosts []*model.Host, opts *Options) *Plan {
	d := newDriver(opts)
	start := time.Now()
	p := &Plan{Hosts: make([]HostPlan, len(hosts))}
	for i, h := range hosts {
		p.Hosts[i] = HostPlan{Host: h}
	}

	// Evaluation is one local nix process; it overlaps with the queries,
	// which mostly wait on the network.
	var evs []evaluated
	var evErrs []error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		evs, evErrs = d.evalHosts(ctx, hosts)
	}()

	var g errgroup.Group // zero Group: an unreachable host must not stop the others
	g.SetLimit(d.opts.jobs())
	for i, h := range hosts {
		g.Go(func() error {
			hp := &p.Hosts[i]
			hp.Current, hp.Generation, hp.Err = d.query(ctx, h)
			return nil
		})
	}
	g.Wait()
	wg.Wait()

	for i := range p.Hosts {
		hp := &p.Hosts[i]
		hp.New, hp.Drv = evs[i].Out, evs[i].Drv
		switch {
		case evErrs[i] != nil:
			hp.Action, hp.Err = ActionFail, evErrs[i]
		case hp.Err != nil:
			hp.Action = ActionFail
		case hp.Current == hp.New:
			hp.Action = ActionSkip
		default:
			hp.Action = ActionDeploy
		}
		d.emit(hp.Host.Name, OpQuery, EventNote, hp.Action.String(), hp.Err)
	}
	p.Duration = time.Since(start)
	return p
}

// query asks h's target for its running system and system profile
// generation, in one ssh round trip.
func (d *driver) query(ctx context.Context, h *model.Host) (current, generation string, err error) {
	if h.Target.IsZero() {
		return "", "", errorf(h.Name, OpQuery, KindOther, "no target address")
	}
	root := h.Target.Root
	script := "printf 'current=%s\\ngeneration=%s\\n' " +
		`"$(readlink ` + shellQuote(root+"/run/current-system") + `)" ` +
		`"$(readlink ` + shellQuote(root+"/nix/var/nix/profiles/system") + `)"`
	out, err := d.run(ctx, command{host: h.Name, op: OpQuery, remote: true, argv: d.ssh(h.Target, script)})
	if err != nil {
		return "", "", err
	}
	kv := parseKV(string(out), "")
	return kv["current"], kv["generation"], nil
}

// parseKV reads "key=value" lines that start with prefix.
func parseKV(s, prefix string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// DiffClosures fills in Diff for every host the plan deploys, for a dry
// run: it builds the host's new system (once: Apply reuses it), fetches the
// target's current system if the local store lacks it, and runs nix store
// diff-closures. Hosts built on their target are not built here; their
// Diff stays empty. Failures are recorded in HostPlan.Err without changing
// the action.
func (p *Plan) DiffClosures(ctx context.Context, opts *Options) {
	d := newDriver(opts)
	var g errgroup.Group // zero Group: one host's failure must not stop the others
	g.SetLimit(d.opts.jobs())
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if hp.Action != ActionDeploy || hp.Host.Build.Where == model.BuildOnTarget {
			continue
		}
		g.Go(func() error {
			hp.Err = d.diff(ctx, hp)
			return nil
		})
	}
	g.Wait()
}

func (d *driver) diff(ctx context.Context, hp *HostPlan) error {
	h := hp.Host
	if hp.Built == "" {
		path, err := d.buildHost(ctx, h, hp.Drv)
		if err != nil {
			return err
		}
		hp.Built = path
	}
	if hp.Current == "" {
		hp.Diff = "(the target runs no system yet)\n"
		return nil
	}
	// The old closure lives on the target; nix copy is a no-op when the
	// local store has it already, as it does when a cache serves both.
	if _, err := d.run(ctx, command{host: h.Name, op: OpDiff,
		argv: d.nix([]string{"copy"}, "--from", storeURI(h.Target), hp.Current),
		env:  d.nixSSHEnv(h.Target)}); err != nil {
		return err
	}
	out, err := d.run(ctx, command{host: h.Name, op: OpDiff,
		argv: d.nix([]string{"store", "diff-closures"}, hp.Current, hp.Built)})
	if err != nil {
		return err
	}
	hp.Diff = string(out)
	return nil
}

// Ping checks that each host's target answers over ssh, in parallel, with
// one round trip per host. The errors are indexed like hosts; nil means
// the host answered.
func Ping(ctx context.Context, hosts []*model.Host, opts *Options) []error {
	d := newDriver(opts)
	errs := make([]error, len(hosts))
	var g errgroup.Group // zero Group: an unreachable host must not stop the others
	g.SetLimit(d.opts.jobs())
	for i, h := range hosts {
		g.Go(func() error {
			if h.Target.IsZero() {
				errs[i] = errorf(h.Name, OpQuery, KindOther, "no target address")
				return nil
			}
			_, errs[i] = d.run(ctx, command{host: h.Name, op: OpQuery, remote: true, argv: d.ssh(h.Target, "true")})
			return nil
		})
	}
	g.Wait()
	return errs
}
