package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/model"
)

// deployFleet is a fleet whose hosts use every deploy setting and the
// features health checks come from.
var deployFleet = map[string]string{
	"cue.mod/module.cue": `module: "example.test/fleet@v0"
language: version: "v0.17.0"
`,
	"fleet.cue": `package fleet

import "fleetnix.dev/fleet/schema"

schema.#Fleet
`,
	"hosts.cue": `package fleet

hardware: amd: cpu: vendor: "amd"

templates: server: {
	hardwareProfile: "amd"
	stateVersion:    "25.05"
	hardware: {boot: loader: "none", fileSystems: "/": {device: "/dev/disk/by-label/nixos", fsType: "ext4"}}
}

hosts: mon: {
	template: "server"
	tags: web: true
	deploy: {
		targetHost: "mon.example.test"
		targetUser: "deployer"
		port:       2222
		buildOn:    "remote"
		builder:    "nix@builder.example.test:2200"
		activation: "test"
	}
	features: monitoring: {enable: true, role: "client", serverHost: "srv"}
	network: firewall: allowedTCPPorts: web: 8080
	nix: serve: {
		enable:    true
		publicKey: "mon-1:CMPHuW3KtQ/nLgm58ktLChxut34DtrPaamBq2v2usSQ="
		secretKey: $secret: "cache-key"
	}
}
hosts: srv: {
	template: "server"
	deploy: {targetHost: "fd00::1", buildOn: "target"}
	features: monitoring: {enable: true, role: "server", exporters: systemd: false, grafana: adminPassword: $secret: "grafana"}
}
secrets: {"cache-key": {}, grafana: {}}
hosts: plain: {
	template: "server"
	deploy: targetHost: "plain.example.test"
}
hosts: chk: {
	template: "server"
	deploy: {
		targetHost: "chk.example.test"
		builderRole: {maxJobs: 4, supportedFeatures: {kvm: true, "big-parallel": true, nfs: false}}
		health: {
			systemState: false
			ports:       false
			units: {"nginx.service": true, "old.service": false}
			tcp: db: {host: "db.example.test", port: 5432}
			http: home: {url: "https://chk.example.test/", status: 301}
			commands: {zz: "true", disk: "test -w /var"}
			timeout:  "2m"
			interval: "500ms"
		}
		rollback: {magic: false, confirmTimeout: "1h"}
	}
	network: firewall: allowedTCPPorts: web: 8080
}
hosts: quiet: {
	template: "server"
	deploy: {
		targetHost: "quiet.example.test"
		health: endpoints: false
		rollback: {enable: false, activationTimeout: "90s"}
		wave:   7
		canary: true
	}
	features: monitoring: {enable: true, role: "client", serverHost: "srv"}
}
`,
}

func loadDeployFleet(t *testing.T) *Fleet {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, deployFleet)
	f, err := Load(context.Background(), &Config{Dir: dir, NixOS: true})
	if err != nil {
		var buf bytes.Buffer
		PrintErrors(&buf, dir, err)
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return f
}

func TestModelHosts(t *testing.T) {
	f := loadDeployFleet(t)
	ref := "path:/fixture"
	dep := &DeployOptions{HealthTimeout: 5 * time.Second}
	dep.TargetRoot = "/tmp/roots/{host}"
	convert := func(name string, dep *DeployOptions) *model.Host {
		t.Helper()
		mh, err := modelHost(f.Host(name), &ref, &dep.DriverOptions, dep)
		if err != nil {
			t.Fatal(err)
		}
		return mh
	}

	mon := convert("mon", dep)
	want := &model.Host{
		Name:     "mon",
		Tags:     []string{"web"},
		System:   "x86_64-linux",
		Toplevel: model.FlakeAttr{Ref: ref, Attr: model.ToplevelAttr("mon")},
		Target:   model.Target{Address: "mon.example.test", User: "deployer", Port: 2222, Root: "/tmp/roots/mon"},
		Build: model.BuildPlacement{Where: model.BuildRemote,
			Host: model.Target{Address: "builder.example.test", User: "nix", Port: 2200}},
		Activation: model.Test,
		Health: model.HealthChecks{
			SystemState: true,
			HTTP: []model.HTTPCheck{
				{URL: "http://mon.example.test:9100/metrics"},
				{URL: "http://mon.example.test:9102/metrics"},
			},
			// The exporters' ports are checked by their endpoints.
			TCP:     []model.TCPCheck{{Port: 5000}, {Port: 8080}},
			Timeout: 5 * time.Second,
		},
		// Five checks of at most 5s each, plus the margin.
		Rollback: model.Rollback{Magic: true, ConfirmTimeout: 25*time.Second + confirmMargin, ActivationTimeout: 10 * time.Minute},
		// A binary cache goes first.
		Wave: WaveInfrastructure, WaveReason: "cache",
	}
	if !reflect.DeepEqual(mon, want) {
		t.Errorf("mon:\n got %+v\nwant %+v", mon, want)
	}

	srv := convert("srv", dep)
	if srv.Build.Where != model.BuildOnTarget || srv.Activation != model.Switch || srv.Target.Port != 0 || srv.Target.User != "root" {
		t.Errorf("srv: build %v, activation %q, target %+v", srv.Build, srv.Activation, srv.Target)
	}
	wantHTTP := []model.HTTPCheck{{URL: "http://[fd00::1]:9100/metrics"}}
	wantTCP := []model.TCPCheck{{Port: 3001}, {Port: 3100}, {Port: 9090}, {Port: 9093}}
	if !reflect.DeepEqual(srv.Health.HTTP, wantHTTP) || !reflect.DeepEqual(srv.Health.TCP, wantTCP) {
		t.Errorf("srv checks: http %v tcp %v, want %v %v", srv.Health.HTTP, srv.Health.TCP, wantHTTP, wantTCP)
	}

	plain := convert("plain", dep)
	if !plain.Health.SystemState || len(plain.Health.TCP)+len(plain.Health.HTTP) != 0 {
		t.Errorf("plain: checks %+v, want the system state only", plain.Health)
	}
	// Waves by role: a monitoring server after the infrastructure, a
	// builder with it, the rest last; deploy.wave wins.
	for name, want := range map[string]string{"srv": "2 monitoring server", "chk": "1 builder", "plain": "3 clients", "quiet": "7 deploy.wave"} {
		h := convert(name, dep)
		if got := fmt.Sprint(h.Wave, " ", h.WaveReason); got != want {
			t.Errorf("%s: wave %s, want %s", name, got, want)
		}
		if h.Canary != (name == "quiet") {
			t.Errorf("%s: canary %v", name, h.Canary)
		}
	}

	// --mode and --skip-check.
	skip := &DeployOptions{Mode: "boot", SkipChecks: []CheckKind{CheckSystemState, CheckEndpoints}}
	mon = convert("mon", skip)
	// With the endpoints' checks off, their ports are checked as ports.
	if mon.Activation != model.Boot || mon.Health.SystemState || len(mon.Health.HTTP) != 0 || len(mon.Health.TCP) != 4 || mon.Target.Root != "" {
		t.Errorf("mon with mode boot, skipping system state and endpoints: %+v", mon)
	}
	skip.SkipChecks = []CheckKind{CheckPorts}
	if hc := convert("mon", skip).Health; len(hc.TCP) != 0 || len(hc.HTTP) != 2 || !hc.SystemState {
		t.Errorf("mon without port checks: %+v", hc)
	}

	// deploy.health and deploy.rollback: ports off drops 8080; the
	// declared checks follow, in name order, with false units left out.
	chk := convert("chk", &DeployOptions{})
	wantHealth := model.HealthChecks{
		Units:    []string{"nginx.service"},
		TCP:      []model.TCPCheck{{Host: "db.example.test", Port: 5432}},
		HTTP:     []model.HTTPCheck{{URL: "https://chk.example.test/", Status: 301}},
		Commands: []model.CommandCheck{{Name: "disk", Command: "test -w /var"}, {Name: "zz", Command: "true"}},
		Timeout:  2 * time.Minute,
		Interval: 500 * time.Millisecond,
	}
	if !reflect.DeepEqual(chk.Health, wantHealth) {
		t.Errorf("chk checks:\n got %+v\nwant %+v", chk.Health, wantHealth)
	}
	if want := (model.Rollback{ConfirmTimeout: time.Hour, ActivationTimeout: 10 * time.Minute}); chk.Rollback != want {
		t.Errorf("chk rollback %+v, want %+v", chk.Rollback, want)
	}
	// --health-timeout wins over deploy.health.timeout; --skip-check
	// leaves the declared checks alone.
	chk = convert("chk", &DeployOptions{HealthTimeout: 3 * time.Second, SkipChecks: CheckKinds})
	if chk.Health.Timeout != 3*time.Second || len(chk.Health.Commands) != 2 || len(chk.Health.TCP) != 1 {
		t.Errorf("chk with --health-timeout 3s and every kind skipped: %+v", chk.Health)
	}
	// Endpoints off: the exporters' ports are checked as ports instead.
	quiet := convert("quiet", &DeployOptions{})
	if len(quiet.Health.HTTP) != 0 || !reflect.DeepEqual(quiet.Health.TCP, []model.TCPCheck{{Port: 9100}, {Port: 9102}}) || !quiet.Health.SystemState || quiet.Health.Timeout != time.Minute {
		t.Errorf("quiet checks: %+v", quiet.Health)
	}
	if want := (model.Rollback{Magic: true, Disabled: true, ConfirmTimeout: 3*time.Minute + confirmMargin, ActivationTimeout: 90 * time.Second}); quiet.Rollback != want {
		t.Errorf("quiet rollback %+v, want %+v", quiet.Rollback, want)
	}

	// Build and Ping need no health checks and no rollback.
	mh, err := modelHost(f.Host("mon"), nil, &DriverOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !mh.Health.IsZero() || mh.Rollback.Magic || mh.Toplevel.Ref != "" {
		t.Errorf("mon for ping: %+v", mh)
	}
}

func TestBuilders(t *testing.T) {
	f := loadDeployFleet(t)
	bs, err := f.builders()
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Builder{{
		Target:            model.Target{Address: "chk.example.test", User: "root"},
		Systems:           []string{"x86_64-linux"},
		MaxJobs:           4,
		SpeedFactor:       1,
		SupportedFeatures: []string{"big-parallel", "kvm"},
	}}
	if !reflect.DeepEqual(bs, want) {
		t.Errorf("builders:\n got %+v\nwant %+v", bs, want)
	}
}

func TestDeployOptionErrors(t *testing.T) {
	f := loadDeployFleet(t)
	ctx := context.Background()
	if _, err := f.Deploy(ctx, DeployOptions{Mode: "dry-activate"}); err == nil || !strings.Contains(err.Error(), `unknown activation mode "dry-activate"`) {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := f.Deploy(ctx, DeployOptions{SkipChecks: []CheckKind{"units"}}); err == nil || !strings.Contains(err.Error(), `unknown health check kind "units"`) {
		t.Errorf("bad check kind: %v", err)
	}
	if _, err := f.Build(ctx, BuildOptions{DriverOptions: DriverOptions{Hosts: []string{"nope"}}}); err == nil || !strings.Contains(err.Error(), `unknown host "nope"`) {
		t.Errorf("unknown host: %v", err)
	}
	// A fleet loaded without NixOS has no NixOS configurations to derive
	// checks from.
	g, err := Load(ctx, &Config{Dir: f.l.ModRoot})
	if err != nil {
		t.Fatal(err)
	}
	_, err = modelHost(g.Host("mon"), nil, &DriverOptions{}, &DeployOptions{})
	if err == nil || !strings.Contains(err.Error(), "Config.NixOS") {
		t.Errorf("no NixOS: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"250ms": 250 * time.Millisecond, "0s": 0, "90s": 90 * time.Second, "5m": 5 * time.Minute,
		"2h": 2 * time.Hour, "3d": 72 * time.Hour, "1w": 168 * time.Hour,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "10", "1.5s", "-1s", "1y", "10 s", "99999999999w"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want model.Target
		err  bool
	}{
		{"builder", model.Target{Address: "builder"}, false},
		{"nix@builder", model.Target{Address: "builder", User: "nix"}, false},
		{"nix@builder:2200", model.Target{Address: "builder", User: "nix", Port: 2200}, false},
		{"[fd00::2]:22", model.Target{Address: "fd00::2", Port: 22}, false},
		{"fd00::2", model.Target{Address: "fd00::2"}, false},
		{"b:http", model.Target{}, true},
		{"", model.Target{}, true},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if (err != nil) != tt.err || err == nil && got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFlakeRefs(t *testing.T) {
	cwd, _ := os.Getwd()
	for in, want := range map[string]string{
		"":                      "",
		"github:me/fleet":       "github:me/fleet",
		"path:/srv/fleet":       "path:/srv/fleet",
		"/srv/fleet":            "path:/srv/fleet",
		"./fixture":             "path:" + filepath.Join(cwd, "fixture"),
		"../x":                  "path:" + filepath.Join(filepath.Dir(cwd), "x"),
		"git+file:///srv/fleet": "git+file:///srv/fleet",
	} {
		if got, err := flakeRef(in); err != nil || got != want {
			t.Errorf("flakeRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "fleet", "nix")
	if got := generatedFlakeRef(out); got != "path:"+out {
		t.Errorf("outside git: %s", got)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := generatedFlakeRef(out), "git+file://"+dir+"?dir=fleet/nix"; got != want {
		t.Errorf("inside git: %s, want %s", got, want)
	}
	if got, want := generatedFlakeRef(dir), "git+file://"+dir; got != want {
		t.Errorf("at the git root: %s, want %s", got, want)
	}
}

func TestResultConversion(t *testing.T) {
	cause := errors.New("ssh failed")
	br := build.Result{Host: "beta", Status: build.RolledBack, StorePath: "/nix/store/x-beta",
		Err:         &build.Error{Host: "beta", Op: build.OpActivate, Kind: build.KindExit, ExitCode: 4, Stderr: "units failed\n"},
		RollbackErr: &build.Error{Host: "beta", Op: build.OpRollback, Kind: build.KindUnreachable, ExitCode: 255, Err: cause},
		Duration:    1500 * time.Millisecond}
	r := hostResult(br)
	if r.Status != StatusRolledBack || r.Status.OK() {
		t.Errorf("status %q", r.Status)
	}
	var he *HostError
	if !errors.As(r.Err, &he) || he.Step != "activate" || he.Kind != "command failed" || he.ExitCode != 4 ||
		he.Error() != "beta: activate: exit status 4: units failed" {
		t.Errorf("Err = %#v", r.Err)
	}
	if !errors.Is(r.RollbackErr, cause) {
		t.Errorf("RollbackErr %v does not wrap its cause", r.RollbackErr)
	}
	// Every driver status has a public name that maps back.
	for st := build.Skipped; st <= build.Lost; st++ {
		if got := statusOf(ResultStatus(st.String())); got != st {
			t.Errorf("%v maps back to %v", st, got)
		}
	}

	var a, b bytes.Buffer
	if err := WriteSummary(&a, []HostResult{r}); err != nil {
		t.Fatal(err)
	}
	// Results made by hand print the same table.
	if err := WriteSummary(&b, []HostResult{{Host: "beta", Status: StatusRolledBack, StorePath: "/nix/store/x-beta",
		Err: r.Err, RollbackErr: r.RollbackErr, Duration: r.Duration}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"beta  rolled back  /nix/store/x-beta  1.5s", "beta: activate: exit status 4: units failed\n    units failed\n", "beta: rollback: ssh failed"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, a.String())
		}
	}
	if !strings.HasPrefix(b.String(), strings.SplitN(a.String(), "\n\n", 2)[0]) {
		t.Errorf("hand-made summary differs:\n%s\nwant\n%s", b.String(), a.String())
	}
}

// TestRolloutSettings reads settings.rollout and picks canaries per tag
// among the hosts each wave deploys.
func TestRolloutSettings(t *testing.T) {
	files := map[string]string{}
	for k, v := range deployFleet {
		files[k] = v
	}
	files["rollout.cue"] = `package fleet

settings: rollout: {
	canary: {web: 1, db: "50%"}
	maxUnavailable: "25%"
	onFailure:      "rollback"
}
`
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Load(context.Background(), &Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, canary, err := f.rollout()
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.Rollout{MaxUnavailablePercent: 25, OnFailure: model.RollbackWave}); r != want {
		t.Errorf("rollout %+v, want %+v", r, want)
	}
	if canary["web"] != (share{count: 1}) || canary["db"] != (share{percent: 50}) || len(canary) != 2 {
		t.Errorf("canaries %+v", canary)
	}

	// Wave 3: a1 a2 (web, a2 up to date), d1 d2 d3 (db); wave 1: w (web).
	host := func(name string, wave int, tags ...string) *model.Host {
		return &model.Host{Name: name, Wave: wave, Tags: tags}
	}
	p := &build.Plan{Hosts: []build.HostPlan{
		{Host: host("a1", 3, "web")}, {Host: host("a2", 3, "web"), Action: build.ActionSkip},
		{Host: host("d1", 3, "db")}, {Host: host("d2", 3, "db")}, {Host: host("d3", 3, "db")},
		{Host: host("w", 1, "web")},
	}}
	pickCanaries(p, canary)
	var got []string
	for _, hp := range p.Hosts {
		if hp.Host.Canary {
			got = append(got, hp.Host.Name)
		}
	}
	// One web host per wave (never one that is up to date); half of the
	// three db hosts, rounded up.
	if want := []string{"a1", "d1", "d2", "w"}; !reflect.DeepEqual(got, want) {
		t.Errorf("canaries %v, want %v", got, want)
	}
}
