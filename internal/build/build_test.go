package build_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/fleettest"
	"fleetnix.dev/fleet/internal/model"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fleettest.Cleanup()
	os.Exit(code)
}

// fixtureDir is the self-contained fixture flake.
const fixtureDir = "testdata/flake"

// recorder collects events; it also counts the commands started.
type recorder struct {
	mu     sync.Mutex
	events []build.Event
}

func (r *recorder) record(e build.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// execs returns the argv lines of the commands started whose argv starts
// with prefix, per host.
func (r *recorder) execs(prefix string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[string]int{}
	for _, e := range r.events {
		if e.Kind == build.EventExec && strings.HasPrefix(e.Msg, prefix) {
			n[e.Host]++
		}
	}
	return n
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

func (r *recorder) dump(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Kind != build.EventOutput {
			t.Logf("event %s %s %s: %s", e.Host, e.Op, e.Kind, e.Msg)
		}
	}
}

// fixture is a fleet of fixture hosts, each served by its own sshd.
type fixture struct {
	ref   string
	hosts []*model.Host
	sshd  map[string]*fleettest.SSHD
	opts  *build.Options
	rec   *recorder
}

func newFixture(t *testing.T, names ...string) *fixture {
	t.Helper()
	fleettest.RequireNix(t)
	fleettest.RequireSSHD(t)
	f := &fixture{
		ref:  fleettest.Flake(t, fixtureDir, fleettest.FlakeSettings{Generation: "v1"}),
		sshd: map[string]*fleettest.SSHD{},
		rec:  &recorder{},
	}
	keys := fleettest.SSHKeys(t)
	f.opts = &build.Options{
		NixArgs:       fleettest.NixArgs(),
		RemoteNixArgs: []string{"--option", "build-users-group", "", "--option", "sandbox", "false", "--option", "substituters", ""},
		SSHArgs:       keys.SSHArgs(),
		Events:        f.rec.record,
		Reconnect:     time.Second,
	}
	for _, name := range names {
		s := fleettest.StartSSHD(t, "")
		f.sshd[name] = s
		f.hosts = append(f.hosts, &model.Host{
			Name:     name,
			System:   "x86_64-linux",
			Toplevel: model.FlakeAttr{Ref: f.ref, Attr: model.ToplevelAttr(name)},
			Target:   model.Target{Address: s.Addr, User: s.User, Port: s.Port, Root: s.Root},
		})
	}
	return f
}

func (f *fixture) host(name string) *model.Host {
	for _, h := range f.hosts {
		if h.Name == name {
			return h
		}
	}
	panic("no host " + name)
}

func (f *fixture) settings(t *testing.T, s fleettest.FlakeSettings) {
	fleettest.WriteFlakeSettings(t, f.ref, s)
}

// deploy runs a deployment and logs its summary.
func (f *fixture) deploy(t *testing.T, ctx context.Context) (*build.Plan, []build.Result) {
	t.Helper()
	f.rec.reset()
	p, rs := build.Deploy(ctx, f.hosts, f.opts)
	for _, r := range rs {
		t.Logf("%-8s %-15s %s err=%v rollbackErr=%v (%v)", r.Host, r.Status, filepath.Base(r.StorePath), r.Err, r.RollbackErr, r.Duration.Round(time.Millisecond))
	}
	if os.Getenv("FLEET_TEST_EVENTS") != "" {
		f.rec.dump(t)
	}
	return p, rs
}

// result returns the result of host name.
func result(t *testing.T, rs []build.Result, name string) build.Result {
	t.Helper()
	for _, r := range rs {
		if r.Host == name {
			return r
		}
	}
	t.Fatalf("no result for %s", name)
	return build.Result{}
}

// onGeneration checks that the fixture host rooted at root runs want,
// boots want and has its profile on want: one generation, never a mix.
func onGeneration(t *testing.T, name, root, want string) {
	t.Helper()
	st := fleettest.ReadState(root)
	if st.Current != want || st.Profile != want || st.BootDefault != want {
		t.Errorf("%s is between generations or on the wrong one:\n current %s\n profile %s\n boot    %s\n want    %s\nactivations:\n%s",
			name, st.Current, st.Profile, st.BootDefault, want, st.Log)
	}
}

// installV1 deploys generation v1 to every host of f and returns the
// store path of each host's v1 system.
func installV1(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	_, rs := f.deploy(t, context.Background())
	v1 := map[string]string{}
	for _, r := range rs {
		if r.Status != build.Deployed {
			t.Fatalf("installing v1 on %s: %s: %v", r.Host, r.Status, r.Err)
		}
		v1[r.Host] = r.StorePath
		onGeneration(t, r.Host, f.host(r.Host).Target.Root, r.StorePath)
	}
	return v1
}

func errOf(t *testing.T, err error) *build.Error {
	t.Helper()
	var e *build.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *build.Error", err, err)
	}
	return e
}

// TestDeployFailures deploys v2 to five hosts at once, four of them
// failing in a different way, and checks that each ends on the right
// generation with the right result while the healthy one is deployed.
func TestDeployFailures(t *testing.T) {
	f := newFixture(t, "alpha", "beta", "gamma", "delta", "bench-0")
	v1 := installV1(t, f)

	// Deploying v1 again changes nothing and builds nothing.
	_, rs := f.deploy(t, context.Background())
	for _, r := range rs {
		if r.Status != build.UpToDate {
			t.Errorf("%s: redeploying v1: %s, want up to date", r.Host, r.Status)
		}
	}
	if n := f.rec.execs("nix build"); len(n) != 0 {
		t.Errorf("redeploying v1 ran nix build: %v", n)
	}

	// alpha: healthy, with magic rollback: deployed and confirmed. Its
	// health checks must pass within the confirm timeout: 6s, since under
	// the race detector on a loaded machine they took over 2s.
	alpha := f.host("alpha")
	alpha.Rollback = model.Rollback{Magic: true, ConfirmTimeout: 6 * time.Second}
	alpha.Health = model.HealthChecks{
		TCP:      []model.TCPCheck{{Port: alpha.Target.Port}},
		Commands: []model.CommandCheck{{Name: "fixture root", Command: "test -d \"$FLEET_TEST_ROOT\""}},
		Timeout:  5 * time.Second,
	}
	// beta: its v2 toplevel fails to build.
	// gamma: activation exits with status 4.
	fleettest.Inject(t, f.host("gamma").Target.Root, "fail-v2")
	// delta: a health check fails.
	delta := f.host("delta")
	delta.Health = model.HealthChecks{
		Commands: []model.CommandCheck{{Name: "marker", Command: "test -e \"$FLEET_TEST_ROOT/healthy\""}},
		Timeout:  time.Second, Interval: 200 * time.Millisecond,
	}
	// bench-0: unreachable.
	f.sshd["bench-0"].Kill()

	errs := build.Ping(context.Background(), f.hosts, f.opts)
	for i, err := range errs {
		if name := f.hosts[i].Name; name == "bench-0" {
			if !build.IsKind(err, build.KindUnreachable) {
				t.Errorf("ping %s: %v, want unreachable", name, err)
			}
		} else if err != nil {
			t.Errorf("ping %s: %v", name, err)
		}
	}

	f.settings(t, fleettest.FlakeSettings{Generation: "v2", Broken: []string{"beta"}})
	p, rs := f.deploy(t, context.Background())

	if got := p.Hosts[4].Action; got != build.ActionFail {
		t.Errorf("plan for unreachable bench-0: %s, want fail", got)
	}

	r := result(t, rs, "alpha")
	if r.Status != build.Deployed || r.Err != nil || r.Previous != v1["alpha"] || r.Current != r.StorePath {
		t.Errorf("alpha: %s %v, previous %s current %s", r.Status, r.Err, r.Previous, r.Current)
	}
	v2alpha := r.StorePath
	if !strings.HasSuffix(v2alpha, "-v2") {
		t.Errorf("alpha's new system %s is not v2", v2alpha)
	}

	r = result(t, rs, "beta")
	if e := errOf(t, r.Err); r.Status != build.Failed || e.Op != build.OpBuild || e.Kind != build.KindExit ||
		!strings.Contains(e.Stderr, "broken on purpose") {
		t.Errorf("beta: %s %v, stderr %q", r.Status, r.Err, e.Stderr)
	}

	r = result(t, rs, "gamma")
	if e := errOf(t, r.Err); r.Status != build.RolledBack || e.Op != build.OpActivate || e.ExitCode != 4 ||
		!strings.Contains(e.Stderr, "units failed") || r.Current != v1["gamma"] {
		t.Errorf("gamma: %s %v (exit %d), stderr %q, current %s", r.Status, r.Err, e.ExitCode, e.Stderr, r.Current)
	}
	if log := fleettest.ReadState(f.host("gamma").Target.Root).Log; !strings.Contains(log, "gamma v2 switch failed\ngamma v1 switch begin\ngamma v1 switch ok\n") {
		t.Errorf("gamma's activations do not show the rollback:\n%s", log)
	}

	r = result(t, rs, "delta")
	if e := errOf(t, r.Err); r.Status != build.RolledBack || e.Op != build.OpHealth || e.Kind != build.KindCheck || r.Current != v1["delta"] {
		t.Errorf("delta: %s %v, current %s", r.Status, r.Err, r.Current)
	}

	r = result(t, rs, "bench-0")
	if e := errOf(t, r.Err); r.Status != build.Failed || e.Op != build.OpQuery || e.Kind != build.KindUnreachable {
		t.Errorf("bench-0: %s %v", r.Status, r.Err)
	}
	if n := f.rec.execs("nix build"); n["bench-0"] != 0 {
		t.Errorf("unreachable bench-0 was built")
	}

	onGeneration(t, "alpha", alpha.Target.Root, v2alpha)
	for _, name := range []string{"beta", "gamma", "delta", "bench-0"} {
		onGeneration(t, name, f.host(name).Target.Root, v1[name])
	}

	// The confirmation holds: once the confirm timeout has passed, the
	// watchdog has not reverted alpha.
	time.Sleep(7 * time.Second)
	onGeneration(t, "alpha", alpha.Target.Root, v2alpha)
}

// TestConnectionDropDuringActivation cuts a host off the network while its
// activation runs. The activation finishes on the target, nobody confirms
// it, and the watchdog rolls the host back by itself.
func TestConnectionDropDuringActivation(t *testing.T) {
	f := newFixture(t, "alpha", "beta")
	v1 := installV1(t, f)
	alpha := f.host("alpha")
	alpha.Rollback = model.Rollback{Magic: true, ConfirmTimeout: 2 * time.Second}
	root := alpha.Target.Root
	fleettest.Inject(t, root, "hold-v2")

	done := make(chan struct{})
	go func() {
		defer close(done)
		held := filepath.Join(root, "held-v2")
		for range 300 {
			if _, err := os.Stat(held); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		f.sshd["alpha"].Kill()
		fleettest.Release(root, "hold-v2")
	}()

	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	_, rs := f.deploy(t, context.Background())
	<-done

	r := result(t, rs, "alpha")
	if e := errOf(t, r.Err); r.Status != build.Lost || e.Kind != build.KindLost || e.Op != build.OpActivate {
		t.Errorf("alpha: %s %v", r.Status, r.Err)
	}
	if r := result(t, rs, "beta"); r.Status != build.Deployed {
		t.Errorf("beta: %s %v", r.Status, r.Err)
	}
	// The watchdog reverts alpha within its confirm timeout of the end
	// of activation.
	waitRolledBack(t, "alpha", root, v1["alpha"], "alpha v2 switch ok\n", 10*time.Second)
}

// waitRolledBack waits, at most for wait, until the activations of host
// name under root end with after and a switch back to old, which must
// then be all the host runs and boots.
func waitRolledBack(t *testing.T, name, root, old, after string, wait time.Duration) {
	t.Helper()
	want := after + name + " v1 switch begin\n" + name + " v1 switch ok\n"
	for deadline := time.Now().Add(wait); !strings.HasSuffix(fleettest.ReadState(root).Log, want) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if log := fleettest.ReadState(root).Log; !strings.HasSuffix(log, want) {
		t.Errorf("%s's activations do not end with the rollback:\n%s", name, log)
	}
	onGeneration(t, name, root, old)
}

// TestConfirmTooLate gives magic rollback less time than the health
// checks take: the watchdog reverts the host before the deployer confirms,
// and the deployer reports that instead of claiming success.
func TestConfirmTooLate(t *testing.T) {
	f := newFixture(t, "alpha")
	v1 := installV1(t, f)
	alpha := f.host("alpha")
	alpha.Rollback = model.Rollback{Magic: true, ConfirmTimeout: time.Second}
	alpha.Health = model.HealthChecks{Commands: []model.CommandCheck{{Name: "slow", Command: "sleep 3"}}, Timeout: 10 * time.Second}
	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	_, rs := f.deploy(t, context.Background())
	r := result(t, rs, "alpha")
	if e := errOf(t, r.Err); r.Status != build.RolledBack || e.Op != build.OpConfirm || e.Kind != build.KindTimeout || r.Current != v1["alpha"] {
		t.Errorf("alpha: %s %v, current %s", r.Status, r.Err, r.Current)
	}
	onGeneration(t, "alpha", alpha.Target.Root, v1["alpha"])
}

// TestCancelDuringActivation cancels the deployment while one host
// activates and another has not started: the activating host is rolled
// back once its activation ends, and every host gets a result.
func TestCancelDuringActivation(t *testing.T) {
	f := newFixture(t, "alpha", "beta")
	v1 := installV1(t, f)
	f.opts.NetJobs = 1 // beta's copy waits for alpha's activation
	root := f.host("alpha").Target.Root
	fleettest.Inject(t, root, "hold-v2")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		held := filepath.Join(root, "held-v2")
		for range 300 {
			if _, err := os.Stat(held); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		time.Sleep(300 * time.Millisecond)
		fleettest.Release(root, "hold-v2")
	}()

	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	_, rs := f.deploy(t, ctx)
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	r := result(t, rs, "alpha")
	if r.Status != build.Canceled || !build.IsKind(r.Err, build.KindCanceled) || r.Current != v1["alpha"] {
		t.Errorf("alpha: %s %v, current %s", r.Status, r.Err, r.Current)
	}
	r = result(t, rs, "beta")
	if r.Status != build.Skipped && r.Status != build.Canceled {
		t.Errorf("beta: %s %v", r.Status, r.Err)
	}
	for _, name := range []string{"alpha", "beta"} {
		onGeneration(t, name, f.host(name).Target.Root, v1[name])
	}
}

// TestBuildPlacements builds on the target and through a build host, and
// activates with boot and test.
func TestBuildPlacements(t *testing.T) {
	f := newFixture(t, "alpha", "beta", "gamma")
	v1 := installV1(t, f)
	alpha, beta, gamma := f.host("alpha"), f.host("beta"), f.host("gamma")
	alpha.Build = model.BuildPlacement{Where: model.BuildOnTarget}
	beta.Build = model.BuildPlacement{Where: model.BuildRemote, Host: gamma.Target}
	beta.Activation = model.Boot
	gamma.Activation = model.Test
	// A generation no other test builds, so nothing is in the store yet.
	gen := "p" + time.Now().Format("150405.000000")
	f.settings(t, fleettest.FlakeSettings{Generation: gen})
	_, rs := f.deploy(t, context.Background())
	for _, r := range rs {
		if r.Status != build.Deployed {
			t.Fatalf("%s: %s: %v", r.Host, r.Status, r.Err)
		}
	}
	if n := f.rec.execs("ssh"); n["alpha"] < 3 {
		t.Errorf("alpha: %d ssh commands; building on the target takes one more than query, activate, confirm", n["alpha"])
	}
	if n := f.rec.execs("nix build"); n["alpha"] != 0 || n["beta"] != 0 {
		t.Errorf("alpha and beta were built locally: %v", n)
	}
	port := func(name string) string { return fmt.Sprint("-p ", f.host(name).Target.Port, " ") }
	if !containsExec(execLines(f.rec, "alpha"), port("alpha"), "nix-store --realise") {
		t.Errorf("alpha was not realised on its target:\n%s", strings.Join(execLines(f.rec, "alpha"), "\n"))
	}
	if !containsExec(execLines(f.rec, "beta"), port("gamma"), "nix-store --realise") {
		t.Errorf("beta was not realised on its build host gamma:\n%s", strings.Join(execLines(f.rec, "beta"), "\n"))
	}
	a := result(t, rs, "alpha").StorePath
	onGeneration(t, "alpha", alpha.Target.Root, a)
	if pv := result(t, rs, "alpha").Preview; pv == nil || pv.Closure == nil || pv.Closure.SizeAfter == 0 {
		t.Errorf("alpha, built on its target, has no closure diff: %+v", pv)
	}

	b := result(t, rs, "beta").StorePath
	st := fleettest.ReadState(beta.Target.Root)
	if st.Current != v1["beta"] || st.Profile != b || st.BootDefault != b {
		t.Errorf("beta (boot): current %s profile %s boot %s; want running v1, booting %s", st.Current, st.Profile, st.BootDefault, b)
	}

	c := result(t, rs, "gamma").StorePath
	st = fleettest.ReadState(gamma.Target.Root)
	if st.Current != c || st.Profile != v1["gamma"] || st.BootDefault != v1["gamma"] {
		t.Errorf("gamma (test): current %s profile %s boot %s; want running %s, booting v1", st.Current, st.Profile, st.BootDefault, c)
	}
}

// containsExec reports whether one of lines contains all of subs.
func containsExec(lines []string, subs ...string) bool {
	for _, l := range lines {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func execLines(r *recorder, host string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == build.EventExec && e.Host == host {
			out = append(out, e.Msg)
		}
	}
	return out
}

// TestBuild builds four hosts, one of which is broken, two at a time.
func TestBuild(t *testing.T) {
	fleettest.RequireNix(t)
	gen := "b" + time.Now().Format("150405.000000")
	ref := fleettest.Flake(t, fixtureDir, fleettest.FlakeSettings{Generation: gen, Broken: []string{"beta"}})
	var hosts []*model.Host
	for _, name := range []string{"alpha", "beta", "gamma", "delta"} {
		hosts = append(hosts, &model.Host{Name: name, Toplevel: model.FlakeAttr{Ref: ref, Attr: model.ToplevelAttr(name)}})
	}
	rec := &recorder{}
	var mu sync.Mutex
	running, peak := 0, 0
	opts := &build.Options{Jobs: 2, NixArgs: fleettest.NixArgs(), Events: func(e build.Event) {
		rec.record(e)
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case build.EventStart:
			running++
			peak = max(peak, running)
		case build.EventDone, build.EventFail:
			running--
		}
	}}
	rs := build.Build(context.Background(), hosts, opts)
	for i, r := range rs {
		if r.Host != hosts[i].Name {
			t.Errorf("result %d is for %s, want %s", i, r.Host, hosts[i].Name)
		}
		if r.Host == "beta" {
			e := errOf(t, r.Err)
			if r.Status != build.Failed || e.Op != build.OpBuild || e.ExitCode != 1 || !strings.Contains(e.Stderr, "broken on purpose") {
				t.Errorf("beta: %s %v", r.Status, r.Err)
			}
			if !strings.Contains(e.Error(), "error: builder for") {
				t.Errorf("beta's error does not quote nix's error line: %v", e)
			}
			continue
		}
		if r.Status != build.Built || r.Err != nil || !strings.HasSuffix(r.StorePath, r.Host+"-"+gen) {
			t.Errorf("%s: %s %v %s", r.Host, r.Status, r.Err, r.StorePath)
		}
		if _, err := os.Stat(filepath.Join(r.StorePath, "bin", "switch-to-configuration")); err != nil {
			t.Errorf("%s: %v", r.Host, err)
		}
	}
	if peak > 2 {
		t.Errorf("%d builds ran at once, want at most 2", peak)
	}
	if n := rec.execs("nix build"); len(n) != 4 {
		t.Errorf("nix build ran for %v, want each host once", n)
	}

	// With FailFast and one job, nothing starts after beta fails.
	opts = &build.Options{Jobs: 1, FailFast: true, NixArgs: fleettest.NixArgs()}
	rs = build.Build(context.Background(), hosts[1:], opts)
	if rs[0].Status != build.Failed || rs[1].Status != build.Skipped || rs[2].Status != build.Skipped || rs[1].Err == nil {
		t.Errorf("fail-fast: %s, %s (%v), %s", rs[0].Status, rs[1].Status, rs[1].Err, rs[2].Status)
	}
}

// TestDryRunDiff plans v2 with closure diffs: nothing changes on the
// hosts, and applying the plan afterwards does not build again. beta is
// built on its target, whose diff runs there too.
func TestDryRunDiff(t *testing.T) {
	f := newFixture(t, "alpha", "beta")
	f.host("beta").Build = model.BuildPlacement{Where: model.BuildOnTarget}
	f.settings(t, fleettest.FlakeSettings{Generation: "v1",
		Packages: map[string]string{"hello": "2.12:4", "old-tool": "1.0"},
		Units: map[string]string{"web.service": "ExecStart=/bin/web v1", "proxy.service": "ExecStart=/bin/proxy v1\nX-ReloadIfChanged=true",
			"old.service": "ExecStart=/bin/old"}})
	v1 := installV1(t, f)
	f.settings(t, fleettest.FlakeSettings{Generation: "v2",
		Packages: map[string]string{"hello": "2.13:40", "curl": "8.1"},
		Units: map[string]string{"web.service": "ExecStart=/bin/web v2", "proxy.service": "ExecStart=/bin/proxy v2\nX-ReloadIfChanged=true",
			"db.service": "ExecStart=/bin/db"},
		Hosts: map[string]fleettest.HostSettings{"beta": {Kernel: "6.13.0"}}})
	f.rec.reset()
	p := build.PlanDeploy(context.Background(), f.hosts, f.opts)
	p.Preview(context.Background(), f.opts)
	for _, hp := range p.Hosts {
		name := hp.Host.Name
		if hp.Action != build.ActionDeploy || hp.Err != nil || hp.Current != v1[name] || hp.Built != hp.New {
			t.Fatalf("%s: %s %v current %s built %s new %s", name, hp.Action, hp.Err, hp.Current, hp.Built, hp.New)
		}
		if !strings.Contains(hp.Diff, "nixos-system-"+name) {
			t.Errorf("%s: diff does not name the system:\n%s", name, hp.Diff)
		}
		pv := hp.Preview
		cd := pv.Closure
		if cd == nil {
			t.Fatalf("%s: no closure diff", name)
		}
		added := map[string]string{}
		for _, a := range cd.Added {
			added[a.Name] = build.FormatVersions(a.Versions)
		}
		removed := map[string]string{}
		for _, r := range cd.Removed {
			removed[r.Name] = build.FormatVersions(r.Versions)
		}
		changed := map[string]string{}
		for _, c := range cd.Changed {
			changed[c.Name] = fmt.Sprintf("%s → %s %+d", build.FormatVersions(c.From), build.FormatVersions(c.To), c.SizeDelta)
		}
		if added["curl"] != "8.1" || removed["old-tool"] != "1.0" || changed["hello"] != "2.12 → 2.13 +36864" {
			t.Errorf("%s: closure diff: added %v removed %v changed %v\n%s", name, added, removed, changed, hp.Diff)
		}
		if cd.SizeAfter-cd.SizeBefore < 36<<10 || cd.SizeBefore == 0 {
			t.Errorf("%s: closure size %d -> %d", name, cd.SizeBefore, cd.SizeAfter)
		}
		wantKernel := name == "beta"
		if pv.KernelChanged != wantKernel || pv.InitrdChanged != wantKernel || pv.RebootNeeded() != wantKernel {
			t.Errorf("%s: kernel changed %v, initrd changed %v", name, pv.KernelChanged, pv.InitrdChanged)
		}
		if _, ok := changed["linux"]; ok != wantKernel {
			t.Errorf("%s: the closure diff lists the kernel: %v", name, ok)
		}
		u := pv.Units
		got := fmt.Sprintf("stop %v start %v restart %v reload %v", u.Stop, u.Start, u.Restart, u.Reload)
		if want := "stop [old.service] start [db.service] restart [web.service] reload [proxy.service]"; got != want {
			t.Errorf("%s: units:\n got %s\nwant %s", name, got, want)
		}
		onGeneration(t, name, hp.Host.Target.Root, v1[name])
		if log := fleettest.ReadState(hp.Host.Target.Root).Log; strings.Contains(log, "v2") {
			t.Errorf("%s: the dry run activated something:\n%s", name, log)
		}
	}
	f.rec.reset()
	rs := build.Apply(context.Background(), p, f.opts)
	for _, r := range rs {
		if r.Status != build.Deployed {
			t.Errorf("%s: %s %v", r.Host, r.Status, r.Err)
		}
	}
	if n := f.rec.execs("nix build"); len(n) != 0 {
		t.Errorf("Apply built again after the dry run: %v", n)
	}
}

// runnerPID waits for the runner activating a system of generation gen
// under root to record its pid and returns it, or 0 after half a minute.
func runnerPID(root, gen string) int {
	for range 600 {
		ms, _ := filepath.Glob(filepath.Join(root, "run", "fleet", "*.pid"))
		for _, m := range ms {
			b, _ := os.ReadFile(strings.TrimSuffix(m, ".pid") + ".new")
			if !strings.HasSuffix(strings.TrimSpace(string(b)), "-"+gen) {
				continue
			}
			b, err := os.ReadFile(m)
			var pid int
			if _, err2 := fmt.Sscan(string(b), &pid); err == nil && err2 == nil {
				return pid
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0
}

// waitHeld waits until the fixture's switch-to-configuration under root
// holds in generation gen, for at most half a minute.
func waitHeld(root, gen string) bool {
	for range 600 {
		if _, err := os.Stat(filepath.Join(root, "held-"+gen)); err == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestActivationKilled kills the activation on the target halfway (its
// runner's whole session, as the OOM killer or an admin's kill would):
// the watchdog, whose clock started before activation, notices and rolls
// the host back, and the deployer reports it.
func TestActivationKilled(t *testing.T) {
	f := newFixture(t, "alpha")
	v1 := installV1(t, f)
	alpha := f.host("alpha")
	alpha.Rollback = model.Rollback{Magic: true, ConfirmTimeout: 5 * time.Second}
	root := alpha.Target.Root
	fleettest.Inject(t, root, "hold-v2")
	killed := make(chan error, 1)
	go func() {
		pid := 0
		if waitHeld(root, "v2") {
			pid = runnerPID(root, "v2")
		}
		if pid == 0 {
			killed <- errors.New("no activation runner held in v2")
			return
		}
		killed <- syscall.Kill(-pid, syscall.SIGKILL)
	}()
	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	_, rs := f.deploy(t, context.Background())
	if err := <-killed; err != nil {
		t.Fatalf("killing the activation: %v", err)
	}
	r := result(t, rs, "alpha")
	if e := errOf(t, r.Err); r.Status != build.RolledBack || e.Op != build.OpActivate || !strings.Contains(e.Error(), "killed before it finished") || r.Current != v1["alpha"] {
		t.Errorf("alpha: %s %v, current %s", r.Status, r.Err, r.Current)
	}
	onGeneration(t, "alpha", root, v1["alpha"])
	if log := fleettest.ReadState(root).Log; !strings.Contains(log, "alpha v2 switch begin\nalpha v1 switch begin\nalpha v1 switch ok\n") {
		t.Errorf("alpha's activations do not show the rollback of the killed one:\n%s", log)
	}
}

// TestActivationHung lets an activation hang past the activation timeout
// while the deployer has lost the host: the watchdog kills it and rolls
// the host back on its own.
func TestActivationHung(t *testing.T) {
	f := newFixture(t, "alpha")
	v1 := installV1(t, f)
	alpha := f.host("alpha")
	alpha.Rollback = model.Rollback{Magic: true, ConfirmTimeout: time.Second, ActivationTimeout: 3 * time.Second}
	root := alpha.Target.Root
	fleettest.Inject(t, root, "hold-v2")
	go func() {
		waitHeld(root, "v2")
		f.sshd["alpha"].Kill()
	}()
	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	start := time.Now()
	_, rs := f.deploy(t, context.Background())
	r := result(t, rs, "alpha")
	if r.Status != build.Lost || !build.IsKind(r.Err, build.KindLost) {
		t.Errorf("alpha: %s %v", r.Status, r.Err)
	}
	// The hold lasts a minute; the watchdog ends it after three seconds.
	waitRolledBack(t, "alpha", root, v1["alpha"], "alpha v2 switch begin\n", 30*time.Second)
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("the hung activation was rolled back after %v", took)
	}
	logs, _ := filepath.Glob(filepath.Join(root, "run", "fleet", "*.log"))
	var log []byte
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		log = append(log, b...)
	}
	if !strings.Contains(string(log), "still running after 3s and was killed; rolling back") {
		t.Errorf("the watchdog's log does not say it killed the activation:\n%s", log)
	}
	waitSessionsEnded(t, root)
}

// waitSessionsEnded waits until every activation session under root has
// its status written, the watchdog's last write after a rollback: until
// then it may still write into the directory the test is about to
// remove (CI once saw "directory not empty" there).
func waitSessionsEnded(t *testing.T, root string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		news, _ := filepath.Glob(filepath.Join(root, "run", "fleet", "*.new"))
		ended := true
		for _, n := range news {
			if _, err := os.Stat(strings.TrimSuffix(n, ".new") + ".status"); err != nil {
				ended = false
			}
		}
		if ended {
			// The watchdog reads the status and exits; give it the
			// moment that takes.
			time.Sleep(200 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("activation sessions under %s did not end: %v", root, news)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// activations returns, per host, when its activation started and ended,
// from the recorded events.
func (r *recorder) activations() map[string][2]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][2]time.Time{}
	for _, e := range r.events {
		if e.Op != build.OpActivate || e.Host == "" {
			continue
		}
		span := out[e.Host]
		switch e.Kind {
		case build.EventStart:
			span[0] = e.Time
		case build.EventDone, build.EventFail:
			span[1] = e.Time
		}
		out[e.Host] = span
	}
	return out
}

// TestWaves deploys five hosts in three waves. A failing canary of the
// second wave stops the rollout: the first wave stays deployed, the rest
// of the fleet is left untouched and says why. Then, with the wave
// rollback policy and one activation at a time, a failure in the last
// wave takes the wave's deployed host back too.
func TestWaves(t *testing.T) {
	f := newFixture(t, "alpha", "beta", "gamma", "delta", "epsilon")
	v1 := installV1(t, f)
	for name, w := range map[string]int{"alpha": 1, "beta": 2, "gamma": 2, "delta": 3, "epsilon": 3} {
		f.host(name).Wave = w
	}
	f.host("beta").Canary = true
	fleettest.Inject(t, f.host("beta").Target.Root, "fail-v2")
	f.settings(t, fleettest.FlakeSettings{Generation: "v2"})
	_, rs := f.deploy(t, context.Background())

	if r := result(t, rs, "alpha"); r.Status != build.Deployed || r.Wave != 1 {
		t.Errorf("alpha: %s (wave %d) %v", r.Status, r.Wave, r.Err)
	}
	if r := result(t, rs, "beta"); r.Status != build.RolledBack {
		t.Errorf("beta: %s %v", r.Status, r.Err)
	}
	for _, name := range []string{"gamma", "delta", "epsilon"} {
		r := result(t, rs, name)
		e := errOf(t, r.Err)
		if r.Status != build.Skipped || e.Op != build.OpRollout || !strings.Contains(e.Error(), "not deployed: wave 2 failed: canary beta rolled back") {
			t.Errorf("%s: %s %v", name, r.Status, r.Err)
		}
		onGeneration(t, name, f.host(name).Target.Root, v1[name])
		if log := fleettest.ReadState(f.host(name).Target.Root).Log; strings.Contains(log, "v2") {
			t.Errorf("%s was touched:\n%s", name, log)
		}
	}
	if n := f.rec.execs("nix build"); n["gamma"]+n["delta"]+n["epsilon"] != 0 {
		t.Errorf("hosts of stopped waves were built: %v", n)
	}
	acts := f.rec.activations()
	if !acts["alpha"][1].Before(acts["beta"][0]) {
		t.Errorf("wave 2 activated before wave 1 was done: %v", acts)
	}

	// Fixed, and with the rollback policy: wave 3's delta fails after
	// its canary epsilon was deployed, and epsilon goes back with it.
	fleettest.Release(f.host("beta").Target.Root, "fail-v2")
	fleettest.Inject(t, f.host("delta").Target.Root, "fail-v2")
	f.host("epsilon").Canary = true
	f.opts.Rollout = model.Rollout{OnFailure: model.RollbackWave}
	_, rs = f.deploy(t, context.Background())
	for _, name := range []string{"beta", "gamma"} {
		if r := result(t, rs, name); r.Status != build.Deployed {
			t.Errorf("%s: %s %v", name, r.Status, r.Err)
		}
	}
	if r := result(t, rs, "delta"); r.Status != build.RolledBack || errOf(t, r.Err).Op != build.OpActivate {
		t.Errorf("delta: %s %v", r.Status, r.Err)
	}
	r := result(t, rs, "epsilon")
	if e := errOf(t, r.Err); r.Status != build.RolledBack || e.Op != build.OpRollout ||
		!strings.Contains(e.Error(), "rolled back with its wave: wave 3 failed: delta rolled back") || r.Current != v1["epsilon"] {
		t.Errorf("epsilon: %s %v, current %s", r.Status, r.Err, r.Current)
	}
	for _, name := range []string{"delta", "epsilon"} {
		onGeneration(t, name, f.host(name).Target.Root, v1[name])
	}
	// The record on epsilon's target shows the deployment and its
	// reversal.
	b, err := os.ReadFile(filepath.Join(f.host("epsilon").Target.Root, "var", "lib", "fleet", "deployments"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if n := len(lines); n < 3 || !strings.Contains(lines[n-2], " deploy ") || !strings.Contains(lines[n-1], " rollback "+v1["epsilon"]+" ") {
		t.Errorf("epsilon's journal:\n%s", b)
	}
}
