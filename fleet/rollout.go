package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
	"fleetnix.dev/fleet/internal/model"
)

// This file holds what the facade adds to the driver for a rollout: the
// waves and canaries it derives from the fleet, the lockout guard, and the
// public form of a plan's preview.

// The default waves, by the role a host plays for the rest of the fleet:
// infrastructure other hosts depend on goes first.
const (
	// WaveInfrastructure holds binary caches, remote builders and
	// Tailscale subnet routers and exit nodes.
	WaveInfrastructure = 1
	// WaveMonitoring holds monitoring servers.
	WaveMonitoring = 2
	// WaveClients holds every other host.
	WaveClients = 3
)

// waveOf returns the wave of a host with deploy settings s, and why.
func waveOf(s *deploySettings) (int, string) {
	if s.Deploy.Wave != nil {
		return *s.Deploy.Wave, "deploy.wave"
	}
	var roles []string
	if s.Deploy.BuilderRole != nil {
		roles = append(roles, "builder")
	}
	if s.Nix.Serve.Enable {
		roles = append(roles, "cache")
	}
	ts := s.Network.Tailscale
	routes := ts.ExitNode
	for _, on := range ts.AdvertiseRoutes {
		routes = routes || on
	}
	if ts.Enable && routes {
		roles = append(roles, "subnet router")
	}
	if len(roles) > 0 {
		return WaveInfrastructure, strings.Join(roles, ", ")
	}
	if m := s.Features.Monitoring; m.Enable && m.Role == "server" {
		return WaveMonitoring, "monitoring server"
	}
	return WaveClients, "clients"
}

// rolloutSettings are the fleet's settings.rollout.
type rolloutSettings struct {
	Canary         map[string]json.RawMessage `json:"canary"`
	MaxUnavailable json.RawMessage            `json:"maxUnavailable"`
	OnFailure      string                     `json:"onFailure"`
}

// A share is a count of hosts or a percentage of them, as settings.rollout
// gives them.
type share struct {
	count, percent int
}

// of returns the share of n hosts, rounded up; at most n.
func (s share) of(n int) int {
	k := s.count
	if s.percent > 0 {
		k = max((n*s.percent+99)/100, 1)
	}
	return min(k, n)
}

func parseShare(raw json.RawMessage) (share, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil && n > 0 {
		return share{count: n}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if p, ok := strings.CutSuffix(s, "%"); ok {
			if n, err := strconv.Atoi(p); err == nil && n > 0 && n <= 100 {
				return share{percent: n}, nil
			}
		}
	}
	return share{}, fmt.Errorf("%s is neither a count nor a percentage", raw)
}

// rollout returns the fleet's rollout policy and its canaries by tag.
func (f *Fleet) rollout() (model.Rollout, map[string]share, error) {
	var s struct {
		Rollout rolloutSettings `json:"rollout"`
	}
	var r model.Rollout
	if len(f.l.Settings) > 0 {
		if err := json.Unmarshal(f.l.Settings, &s); err != nil {
			return r, nil, fmt.Errorf("reading settings.rollout: %v", err)
		}
	}
	if s.Rollout.OnFailure == "rollback" {
		r.OnFailure = model.RollbackWave
	}
	if raw := s.Rollout.MaxUnavailable; len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		sh, err := parseShare(raw)
		if err != nil {
			return r, nil, fmt.Errorf("settings.rollout.maxUnavailable: %v", err)
		}
		r.MaxUnavailable, r.MaxUnavailablePercent = sh.count, sh.percent
	}
	canary := map[string]share{}
	for tag, raw := range s.Rollout.Canary {
		sh, err := parseShare(raw)
		if err != nil {
			return r, nil, fmt.Errorf("settings.rollout.canary.%s: %v", tag, err)
		}
		canary[tag] = sh
	}
	return r, canary, nil
}

// pickCanaries marks the canaries of each wave of p among the hosts it
// deploys: those whose deploy.canary says so (already marked), and per tag
// of byTag the first of the wave's hosts with that tag, in fleet order.
func pickCanaries(p *build.Plan, byTag map[string]share) {
	tags := make([]string, 0, len(byTag))
	for t := range byTag {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, w := range p.Waves() {
		for _, tag := range tags {
			var tagged []*model.Host
			for _, i := range w.Hosts() {
				hp := &p.Hosts[i]
				if hp.Action == build.ActionDeploy && hp.Host.HasTag(tag) {
					tagged = append(tagged, hp.Host)
				}
			}
			// w.Hosts() puts canaries first; keep fleet order.
			sort.SliceStable(tagged, func(a, b int) bool { return tagged[a].Name < tagged[b].Name })
			for _, h := range tagged[:byTag[tag].of(len(tagged))] {
				h.Canary = true
			}
		}
	}
}

// guard refuses, in p, every host to deploy whose new configuration would
// lock the deployer out, unless force; with force it only says so. A host
// whose planning failed is refused too when its configuration alone says
// so, since its target could not tell which port the deployer uses. sel
// are the fleet's hosts of p, in order.
func (f *Fleet) guard(p *build.Plan, sel []*Host, force bool, events func(build.Event)) error {
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if hp.Action != build.ActionDeploy && hp.Action != build.ActionFail {
			continue
		}
		risks, err := f.lockoutRisks(sel[i], hp.SSHPort)
		if err != nil {
			return err
		}
		if len(risks) == 0 {
			continue
		}
		why := strings.Join(risks, "; ")
		if hp.Action == build.ActionFail {
			if !force {
				p.Refuse(i, &build.Error{Host: hp.Host.Name, Op: build.OpGuard, Kind: build.KindOther, ExitCode: -1,
					Err: fmt.Errorf("refused: the new configuration would lock the deployer out: %s; and planning failed: %s", why, detailOf(hp.Err))})
			}
			continue
		}
		if force {
			if events != nil {
				events(build.Event{Time: time.Now(), Host: hp.Host.Name, Wave: hp.Host.Wave, Op: build.OpGuard, Kind: build.EventNote,
					Msg: "deploying despite a lockout risk (--force-lockout-risk): " + why})
			}
			continue
		}
		p.Refuse(i, &build.Error{Host: hp.Host.Name, Op: build.OpGuard, Kind: build.KindOther, ExitCode: -1,
			Err: fmt.Errorf("refused: the new configuration would lock the deployer out: %s; fix it, or deploy anyway with --force-lockout-risk", why)})
		if events != nil {
			events(build.Event{Time: time.Now(), Host: hp.Host.Name, Wave: hp.Host.Wave, Op: build.OpGuard, Kind: build.EventFail, Msg: why})
		}
	}
	return nil
}

// detailOf returns err's message without the host it names first.
func detailOf(err error) string {
	var be *build.Error
	if errors.As(err, &be) {
		return strings.TrimPrefix(be.Error(), be.Host+": ")
	}
	return err.Error()
}

// lockoutRisks returns how h's configuration would lock out a deployer
// that reaches its sshd on port (0: unknown), each with the place of the
// value that causes it.
func (f *Fleet) lockoutRisks(h *Host, port int) ([]string, error) {
	lh, err := f.lintHost(h)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rules.LockoutRisks(lh, port) {
		msg := r.Message
		if rg, _ := lh.Where(r.Path); rg.File != "" {
			msg += fmt.Sprintf(" (%s, %s)", formatPath(r.Path), posString(f.l.ModRoot, rg))
		}
		out = append(out, msg)
	}
	return out, nil
}

// posString writes a range's start as "file:line:col", the file relative
// to dir.
func posString(dir string, r diag.Range) string {
	return fmt.Sprintf("%s:%d:%d", RelPath(dir, r.File), r.Start.Line, r.Start.Col)
}

// lintHost returns h as fleet value rules see it, with its NixOS
// configuration when the fleet was loaded with it.
func (f *Fleet) lintHost(h *Host) (*lint.Host, error) {
	v, err := h.Value()
	if err != nil {
		return nil, err
	}
	ls, err := listenersOf(h)
	if err != nil {
		return nil, err
	}
	lh := &lint.Host{Name: h.Name, Value: v, Where: func(p []string) (diag.Range, string) {
		return f.where(h, p)
	}, Listeners: ls}
	if h.h.NixOS() == nil {
		return lh, nil
	}
	// What the host file holds: the features' configuration, the fleet
	// pass's and the free-form nixos over them.
	for _, js := range [][]byte{h.h.NixOS(), h.h.Derived} {
		if js == nil {
			continue
		}
		var part map[string]any
		d := json.NewDecoder(bytes.NewReader(js))
		d.UseNumber()
		if err := d.Decode(&part); err != nil {
			return nil, fmt.Errorf("host %s: reading its NixOS configuration: %v", h.Name, err)
		}
		if lh.NixOS, err = emit.Overlay(lh.NixOS, part); err != nil {
			return nil, fmt.Errorf("host %s: %v", h.Name, err)
		}
	}
	if extra, ok := v["nixos"].(map[string]any); ok {
		if lh.NixOS, err = emit.Overlay(lh.NixOS, extra); err != nil {
			return nil, fmt.Errorf("host %s: %v", h.Name, err)
		}
	}
	return lh, nil
}

// A Preview is what deploying a host would change, found before it is
// activated: by a dry run for every host, by a deployment for each host
// just before its stage of its wave activates.
type Preview struct {
	// Closure is how the new system's closure differs from the running
	// one's; nil when the host runs no system yet or builds on itself.
	Closure *ClosureDiff `json:"closure"`
	// Units are what activation would do to systemd units, as the
	// target's switch-to-configuration dry-activate says.
	Units UnitChanges `json:"units"`
	// KernelChanged and InitrdChanged report a new kernel or initrd:
	// RebootNeeded is then true, since only a reboot brings them in.
	KernelChanged bool `json:"kernelChanged"`
	InitrdChanged bool `json:"initrdChanged"`
	RebootNeeded  bool `json:"rebootNeeded"`
}

// A ClosureDiff is how two closures differ, package by package (a
// package is a store path's name without its version).
type ClosureDiff struct {
	Added   []Package       `json:"added"`
	Removed []Package       `json:"removed"`
	Changed []PackageChange `json:"changed"`
	// SizeBefore and SizeAfter are the closures' sizes in bytes.
	SizeBefore int64 `json:"sizeBefore"`
	SizeAfter  int64 `json:"sizeAfter"`
}

// A Package is a package added or removed: its versions ("" for a path
// without one) and, when at least 8 KiB, its size in bytes.
type Package struct {
	Name      string   `json:"name"`
	Versions  []string `json:"versions"`
	SizeDelta int64    `json:"sizeDelta"`
}

// A PackageChange is a package whose versions or size changed.
type PackageChange struct {
	Name      string   `json:"name"`
	From      []string `json:"from"`
	To        []string `json:"to"`
	SizeDelta int64    `json:"sizeDelta"`
}

// UnitChanges are what activation would do to systemd units, each list
// sorted as NixOS prints it.
type UnitChanges struct {
	Stop    []string `json:"stop"`
	Start   []string `json:"start"`
	Restart []string `json:"restart"`
	Reload  []string `json:"reload"`
	// Skip are changed units activation would leave running.
	Skip []string `json:"skip"`
	// StopSwap are swap devices it would turn off.
	StopSwap []string `json:"stopSwap"`
	// RestartSystemd reports that systemd itself would be re-executed.
	RestartSystemd bool `json:"restartSystemd"`
}

// A UnitAction is one thing activation would do to units, in words
// ("stop", "leave running (changed)"), and the units it would do it to.
type UnitAction = build.UnitAction

// Actions lists what activation would do to units, one action a verb in
// the order activation does them, leaving out verbs with no unit.
func (u UnitChanges) Actions() []UnitAction {
	return build.UnitChanges{Stop: u.Stop, Start: u.Start, Restart: u.Restart, Reload: u.Reload,
		Skip: u.Skip, StopSwap: u.StopSwap, RestartSystemd: u.RestartSystemd}.Actions()
}

// RebootWhy says what needs a reboot: "new kernel", "new initrd", "new
// kernel and initrd"; "" when nothing does.
func (p *Preview) RebootWhy() string {
	return (&build.Preview{KernelChanged: p.KernelChanged, InitrdChanged: p.InitrdChanged}).RebootWhy()
}

// FormatVersions writes package versions as nix store diff-closures does:
// "∅" for none, "ε" for a path without version.
func FormatVersions(vs []string) string { return build.FormatVersions(vs) }

// FormatSize writes a size in bytes for people: "12.3 KiB", "-1.5 GiB".
func FormatSize(n int64) string { return build.FormatSize(n) }

func previewOf(pv *build.Preview) *Preview {
	if pv == nil {
		return nil
	}
	out := &Preview{KernelChanged: pv.KernelChanged, InitrdChanged: pv.InitrdChanged, RebootNeeded: pv.RebootNeeded(),
		Units: UnitChanges{Stop: nonNil(pv.Units.Stop), Start: nonNil(pv.Units.Start), Restart: nonNil(pv.Units.Restart),
			Reload: nonNil(pv.Units.Reload), Skip: nonNil(pv.Units.Skip), StopSwap: nonNil(pv.Units.StopSwap),
			RestartSystemd: pv.Units.RestartSystemd}}
	if cd := pv.Closure; cd != nil {
		c := &ClosureDiff{SizeBefore: cd.SizeBefore, SizeAfter: cd.SizeAfter,
			Added: []Package{}, Removed: []Package{}, Changed: []PackageChange{}}
		for _, p := range cd.Added {
			c.Added = append(c.Added, Package{Name: p.Name, Versions: nonNil(p.Versions), SizeDelta: p.SizeDelta})
		}
		for _, p := range cd.Removed {
			c.Removed = append(c.Removed, Package{Name: p.Name, Versions: nonNil(p.Versions), SizeDelta: p.SizeDelta})
		}
		for _, p := range cd.Changed {
			c.Changed = append(c.Changed, PackageChange{Name: p.Name, From: nonNil(p.From), To: nonNil(p.To), SizeDelta: p.SizeDelta})
		}
		out.Closure = c
	}
	return out
}

// nonNil returns s, or an empty slice for nil, so JSON says [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
