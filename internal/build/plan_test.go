package build_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/fleettest"
	"fleetnix.dev/fleet/internal/model"
)

// unchangedFleet returns n hosts, all served by one sshd with a root
// directory each, every one of them already running its new system.
func unchangedFleet(tb testing.TB, n int) ([]*model.Host, *build.Options) {
	tb.Helper()
	fleettest.RequireNix(tb)
	s := fleettest.StartSSHD(tb, "")
	ref := fleettest.Flake(tb, fixtureDir, fleettest.FlakeSettings{Generation: "v1", ExtraHosts: n})
	opts := &build.Options{NixArgs: fleettest.NixArgs(), SSHArgs: fleettest.SSHKeys(tb).SSHArgs()}
	var hosts []*model.Host
	for i := range n {
		name := fmt.Sprintf("bench-%d", i)
		hosts = append(hosts, &model.Host{
			Name:     name,
			Toplevel: model.FlakeAttr{Ref: ref, Attr: model.ToplevelAttr(name)},
			Target:   model.Target{Address: s.Addr, User: s.User, Port: s.Port, Root: filepath.Join(s.Root, name)},
		})
	}
	// Make every host run its new system without building it: the plan
	// must not need the store path to exist. The store paths come from
	// nix itself, not from the driver.
	argv := append([]string{"eval", "--json"}, fleettest.NixArgs()...)
	argv = append(argv, ref+"#nixosConfigurations", "--apply",
		"cs: builtins.mapAttrs (n: c: c.config.system.build.toplevel.outPath) cs")
	out, err := exec.Command("nix", argv...).Output()
	if err != nil {
		tb.Fatalf("nix eval: %v", err)
	}
	var paths map[string]string
	if err := json.Unmarshal(out, &paths); err != nil {
		tb.Fatal(err)
	}
	for _, h := range hosts {
		run := filepath.Join(h.Target.Root, "run")
		if err := os.MkdirAll(run, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Symlink(paths[h.Name], filepath.Join(run, "current-system")); err != nil {
			tb.Fatal(err)
		}
	}
	return hosts, opts
}

// TestPlanUnchanged checks that planning a fleet whose hosts all run their
// new system costs one nix eval, one ssh round trip per host, and no build.
func TestPlanUnchanged(t *testing.T) {
	hosts, opts := unchangedFleet(t, 50)
	rec := &recorder{}
	opts.Events = rec.record
	p := build.PlanDeploy(context.Background(), hosts, opts)
	for _, hp := range p.Hosts {
		if hp.Action != build.ActionSkip || hp.Err != nil {
			t.Errorf("%s: %s %v (current %s, new %s)", hp.Host.Name, hp.Action, hp.Err, hp.Current, hp.New)
		}
	}
	ssh := rec.execs("ssh ")
	for _, h := range hosts {
		if ssh[h.Name] != 1 {
			t.Errorf("%s: %d ssh round trips, want 1", h.Name, ssh[h.Name])
		}
	}
	if len(ssh) != len(hosts) {
		t.Errorf("ssh ran for %d hosts, want %d", len(ssh), len(hosts))
	}
	if n := rec.execs("nix eval"); n[""] != 1 || len(n) != 1 {
		t.Errorf("nix eval ran %v times, want once for all hosts", n)
	}
	if n := rec.execs("nix build"); len(n) != 0 {
		t.Errorf("planning built %v", n)
	}
	// Apply does nothing at all.
	rec.reset()
	for _, r := range build.Apply(context.Background(), p, opts) {
		if r.Status != build.UpToDate {
			t.Errorf("%s: %s", r.Host, r.Status)
		}
	}
	if rec.events != nil {
		t.Errorf("applying an all-skip plan started %d commands", len(rec.events))
	}
	t.Logf("plan for %d unchanged hosts: %v", len(hosts), p.Duration)
}

// BenchmarkPlanUnchanged plans 50 hosts that already run their new system:
// one nix eval plus 50 ssh round trips, no build. The cases bound the
// network-bound steps at the old default (the CPU count, capped at 8, that
// bounded every step before they got their own limit), at the new
// default, and at twice that.
func BenchmarkPlanUnchanged(b *testing.B) {
	hosts, opts := unchangedFleet(b, 50)
	for _, c := range []struct {
		name    string
		netJobs int
	}{
		{fmt.Sprintf("net=%d(old-default)", build.DefaultJobs()), build.DefaultJobs()},
		{fmt.Sprintf("net=%d(default)", build.DefaultNetJobs), 0},
		{fmt.Sprintf("net=%d", 2*build.DefaultNetJobs), 2 * build.DefaultNetJobs},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := *opts
			o.NetJobs = c.netJobs
			var ssh, builds int
			o.Events = func(e build.Event) {
				if e.Kind == build.EventExec {
					switch {
					case strings.HasPrefix(e.Msg, "ssh "):
						ssh++
					case strings.HasPrefix(e.Msg, "nix build"):
						builds++
					}
				}
			}
			for b.Loop() {
				p := build.PlanDeploy(context.Background(), hosts, &o)
				if hp := p.Hosts[len(hosts)-1]; hp.Action != build.ActionSkip {
					b.Fatalf("%s: %s %v", hp.Host.Name, hp.Action, hp.Err)
				}
			}
			b.ReportMetric(float64(ssh)/float64(b.N), "ssh/op")
			b.ReportMetric(float64(builds)/float64(b.N), "builds/op")
		})
	}
}
