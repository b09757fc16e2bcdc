package build

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// ActionRefuse leaves the host alone because its new system would
	// close the way the deployer reaches it; HostPlan.Err says how. Only
	// the caller refuses hosts, with Refuse.
	ActionRefuse
)

var actionNames = [...]string{"deploy", "skip", "fail", "refuse"}

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

// A HostPlan is the plan for one host, with what its target said about
// itself.
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
	// Since is when the target switched to Current; zero when unknown.
	Since time.Time
	// Kernel and Initrd are the store paths of the running system's
	// kernel and initrd; BootedKernel and BootedInitrd those of the
	// system the target booted (/run/booted-system). Empty when unknown.
	Kernel, Initrd, BootedKernel, BootedInitrd string
	// SSHPort is the port the target's sshd accepted the deployer on, as
	// the target saw it ($SSH_CONNECTION); 0 when unknown.
	SSHPort int
	// LastChange is the last change fleet made to the target's running
	// system, from the target's journal; nil when it has none.
	LastChange *Change
	// Built is the store path of New when it was built already, by
	// Preview; Apply does not build it again.
	Built string
	// Diff is the closure diff from Current to New as nix prints it, set
	// by Preview.
	Diff string
	// Preview is what deploying the host would change, set by Preview.
	Preview *Preview
	// Err says why Action is ActionFail or ActionRefuse, or why Preview
	// failed.
	Err error
}

// RebootPending reports whether the target runs a kernel or initrd other
// than the one it booted: only a reboot brings them into use.
func (hp *HostPlan) RebootPending() bool {
	return hp.BootedKernel != "" && hp.Kernel != "" &&
		(hp.BootedKernel != hp.Kernel || hp.BootedInitrd != hp.Initrd)
}

// A Change is one change fleet made to a target's running system, as the
// target's journal ($root/var/lib/fleet/deployments) records it.
type Change struct {
	// Time is when it happened.
	Time time.Time
	// Event is "deploy" (a new generation confirmed) or "rollback".
	Event string
	// Current is the running system afterwards, Profile the boot
	// default; empty for none.
	Current, Profile string
}

// Refuse marks host i of p as not to be deployed, with why.
func (p *Plan) Refuse(i int, why error) {
	p.Hosts[i].Action = ActionRefuse
	p.Hosts[i].Err = why
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
	d.each(len(hosts), func(i int) {
		hp := &p.Hosts[i]
		hp.Err = d.query(ctx, hp)
	})
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

// each calls f(0) … f(n-1), each in a goroutine of its own, and waits for
// them. The commands they run are bounded by the driver's limiters, not
// by the number of goroutines.
func (d *driver) each(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// queryScript prints, as key=value lines, what a target runs, since when,
// which kernel it booted, the port its sshd accepted this session on, and
// the last change fleet made to it. It takes the target's root as $1.
const queryScript = `r=$1
printf 'current=%s\ngeneration=%s\nsince=%s\n' "$(readlink "$r/run/current-system")" "$(readlink "$r/nix/var/nix/profiles/system")" "$(stat -c %Y "$r/run/current-system" 2>/dev/null)"
for s in current booted; do
  printf '%s-kernel=%s\n%s-initrd=%s\n' $s "$(readlink -f "$r/run/$s-system/kernel")" $s "$(readlink -f "$r/run/$s-system/initrd")"
done
printf 'ssh=%s\nlast=%s\n' "${SSH_CONNECTION:-}" "$(tail -n 1 "$r/var/lib/fleet/deployments" 2>/dev/null)"
`

// query asks hp's target what it runs, in one ssh round trip, and fills
// in the target's side of hp.
func (d *driver) query(ctx context.Context, hp *HostPlan) error {
	h := hp.Host
	if h.Target.IsZero() {
		return errorf(h.Name, OpQuery, KindOther, "no target address")
	}
	if err := checkHost(h); err != nil {
		return err
	}
	script := shellLine("sh", "-c", queryScript, "sh", h.Target.Root)
	out, err := d.run(ctx, command{host: h.Name, op: OpQuery, remote: true, argv: d.ssh(h.Target, script)})
	if err != nil {
		return err
	}
	kv := parseKV(string(out), "")
	hp.Current, hp.Generation = kv["current"], kv["generation"]
	if n, err := strconv.ParseInt(kv["since"], 10, 64); err == nil && hp.Current != "" {
		hp.Since = time.Unix(n, 0)
	}
	hp.Kernel, hp.Initrd = kv["current-kernel"], kv["current-initrd"]
	hp.BootedKernel, hp.BootedInitrd = kv["booted-kernel"], kv["booted-initrd"]
	// $SSH_CONNECTION is "client-address client-port server-address
	// server-port".
	if f := strings.Fields(kv["ssh"]); len(f) == 4 {
		hp.SSHPort, _ = strconv.Atoi(f[3])
	}
	hp.LastChange = parseChange(kv["last"])
	return nil
}

// parseChange reads one line of a target's journal: "time event current
// profile token".
func parseChange(line string) *Change {
	f := strings.Fields(line)
	if len(f) < 4 {
		return nil
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return nil
	}
	none := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	return &Change{Time: time.Unix(n, 0), Event: f[1], Current: none(f[2]), Profile: none(f[3])}
}

// checkHost refuses a host whose target, build host or builders cannot
// be handed to ssh and nix as they are. The loader checks these values
// already; this is the driver's own line of defence for callers that do
// not.
func checkHost(h *model.Host) error {
	if !h.Target.IsZero() {
		if err := h.Target.Validate(); err != nil {
			return errorf(h.Name, OpQuery, KindOther, "target: %v", err)
		}
	}
	if h.Build.Where == model.BuildRemote && !h.Build.Host.IsZero() {
		if err := h.Build.Host.Validate(); err != nil {
			return errorf(h.Name, OpBuild, KindOther, "build host: %v", err)
		}
	}
	for _, b := range h.Build.Builders {
		if err := checkBuilder(b); err != nil {
			return errorf(h.Name, OpBuild, KindOther, "%v", err)
		}
	}
	return nil
}

// checkBuilder checks that b fits in one entry of nix's builders setting,
// which separates builders with ";" and newlines and fields with white
// space.
func checkBuilder(b model.Builder) error {
	if err := b.Target.Validate(); err != nil {
		return fmt.Errorf("builder: %v", err)
	}
	for _, w := range append(append([]string(nil), b.Systems...), b.SupportedFeatures...) {
		if !model.ValidWord(w) {
			return fmt.Errorf("builder %s: %q is not a system type or feature name", b.Target.Address, w)
		}
	}
	return nil
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

// A Wave is the hosts of a plan deployed together, by index into
// Plan.Hosts, in plan order.
type Wave struct {
	// Number is the hosts' model.Host.Wave.
	Number int
	// Canaries are the hosts deployed first; the rest follow only when
	// all of them are healthy.
	Canaries []int
	// Rest are the other hosts of the wave.
	Rest []int
}

// Hosts returns every host of w: its canaries, then the rest.
func (w Wave) Hosts() []int { return append(append([]int(nil), w.Canaries...), w.Rest...) }

// Waves returns p's hosts grouped by wave, lowest wave first.
func (p *Plan) Waves() []Wave {
	byNum := map[int]*Wave{}
	var nums []int
	for i := range p.Hosts {
		h := p.Hosts[i].Host
		w := byNum[h.Wave]
		if w == nil {
			w = &Wave{Number: h.Wave}
			byNum[h.Wave] = w
			nums = append(nums, h.Wave)
		}
		if h.Canary {
			w.Canaries = append(w.Canaries, i)
		} else {
			w.Rest = append(w.Rest, i)
		}
	}
	sort.Ints(nums)
	out := make([]Wave, len(nums))
	for i, n := range nums {
		out[i] = *byNum[n]
	}
	return out
}

// Ping checks that each host's target answers over ssh, in parallel, with
// one round trip per host. The errors are indexed like hosts; nil means
// the host answered.
func Ping(ctx context.Context, hosts []*model.Host, opts *Options) []error {
	d := newDriver(opts)
	errs := make([]error, len(hosts))
	d.each(len(hosts), func(i int) {
		h := hosts[i]
		if h.Target.IsZero() {
			errs[i] = errorf(h.Name, OpQuery, KindOther, "no target address")
			return
		}
		if errs[i] = checkHost(h); errs[i] != nil {
			return
		}
		_, errs[i] = d.run(ctx, command{host: h.Name, op: OpQuery, remote: true, argv: d.ssh(h.Target, "true")})
	})
	return errs
}
