package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"fleetnix.dev/fleet/internal/model"
)

// evalExpr evaluates the store paths of many hosts' toplevels in one nix
// process. The request comes as JSON data through the environment, so no
// Nix is ever assembled from strings: the expression is a constant.
const evalExpr = `
let
  req = builtins.fromJSON (builtins.getEnv "FLEET_EVAL_REQUEST");
  flakes = builtins.listToAttrs
    (map (ref: { name = ref; value = builtins.getFlake ref; }) req.refs);
  at = builtins.foldl' (v: name: v.${name});
in
builtins.mapAttrs
  (_: h: let t = at flakes.${h.ref} h.attr; in { drv = t.drvPath; out = t.outPath; })
  req.hosts
`

// evalRequest is the JSON handed to evalExpr.
type evalRequest struct {
	Refs  []string                   `json:"refs"`
	Hosts map[string]evalRequestHost `json:"hosts"`
}

type evalRequestHost struct {
	Ref  string   `json:"ref"`
	Attr []string `json:"attr"`
}

// evaluated is the store paths of one host's toplevel.
type evaluated struct {
	Drv string `json:"drv"`
	Out string `json:"out"`
}

// evalHosts evaluates the toplevels of hosts: first all in one nix
// process, and when that fails, each host on its own so that the failure
// is attributed to the hosts it belongs to. The results are indexed like
// hosts.
func (d *driver) evalHosts(ctx context.Context, hosts []*model.Host) ([]evaluated, []error) {
	out := make([]evaluated, len(hosts))
	errs := make([]error, len(hosts))
	if len(hosts) == 0 {
		return out, errs
	}
	m, err := d.evalBatch(ctx, "", hosts)
	if err == nil {
		for i, h := range hosts {
			out[i] = m[h.Name]
		}
		return out, errs
	}
	if len(hosts) == 1 || ctx.Err() != nil {
		for i := range hosts {
			errs[i] = withHost(err, hosts[i].Name)
		}
		return out, errs
	}
	d.emit("", OpEval, EventNote, "evaluating the hosts together failed; evaluating each on its own", nil)
	var g errgroup.Group
	g.SetLimit(d.opts.jobs())
	for i, h := range hosts {
		g.Go(func() error {
			m, err := d.evalBatch(ctx, h.Name, []*model.Host{h})
			out[i], errs[i] = m[h.Name], err
			return nil
		})
	}
	g.Wait()
	return out, errs
}

// evalBatch runs evalExpr for hosts; host names the host errors are
// reported for ("" for several).
func (d *driver) evalBatch(ctx context.Context, host string, hosts []*model.Host) (map[string]evaluated, error) {
	req := evalRequest{Hosts: map[string]evalRequestHost{}}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h.Toplevel.Ref == "" || len(h.Toplevel.Attr) == 0 {
			return nil, errorf(h.Name, OpEval, KindOther, "no flake attribute to build")
		}
		if !seen[h.Toplevel.Ref] {
			seen[h.Toplevel.Ref] = true
			req.Refs = append(req.Refs, h.Toplevel.Ref)
		}
		req.Hosts[h.Name] = evalRequestHost{Ref: h.Toplevel.Ref, Attr: h.Toplevel.Attr}
	}
	sort.Strings(req.Refs)
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	stdout, err := d.run(ctx, command{
		host: host, op: OpEval,
		argv: d.nix([]string{"eval"}, "--impure", "--json", "--expr", evalExpr),
		env:  []string{"FLEET_EVAL_REQUEST=" + string(b)},
	})
	if err != nil {
		return nil, err
	}
	m := map[string]evaluated{}
	if err := json.Unmarshal(stdout, &m); err != nil {
		return nil, errorf(host, OpEval, KindProtocol, "reading nix eval output: %v", err)
	}
	for _, h := range hosts {
		if e := m[h.Name]; !strings.HasPrefix(e.Out, "/") {
			return nil, errorf(h.Name, OpEval, KindProtocol, "nix eval gave no store path")
		}
	}
	return m, nil
}

// withHost returns err with its host set to name, copying an *Error.
func withHost(err error, name string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Host = name
		return &c
	}
	return &Error{Host: name, Op: OpEval, ExitCode: -1, Err: err}
}

// buildOutput is one element of nix build --json.
type buildOutput struct {
	DrvPath string            `json:"drvPath"`
	Outputs map[string]string `json:"outputs"`
}

// buildHost builds h's toplevel where h.Build says and returns its store
// path. drv is the toplevel's derivation when already known; building
// elsewhere than locally needs it, and evaluates it when it is empty.
func (d *driver) buildHost(ctx context.Context, h *model.Host, drv string) (string, error) {
	if err := checkHost(h); err != nil {
		return "", err
	}
	switch h.Build.Where {
	case model.BuildLocal:
		args := []string{"--no-link", "--json"}
		var env []string
		if bs := h.Build.Builders; len(bs) > 0 {
			port, err := buildersPort(bs)
			if err != nil {
				return "", errorf(h.Name, OpBuild, KindOther, "%v", err)
			}
			args = append(args, "--builders", buildersLine(bs),
				"--option", "builders-use-substitutes", "true")
			env = d.nixSSHEnv(model.Target{Port: port})
		}
		stdout, err := d.run(ctx, command{host: h.Name, op: OpBuild,
			argv: d.nix([]string{"build"}, append(args, h.Toplevel.Installable())...), env: env})
		if err != nil {
			return "", err
		}
		var outs []buildOutput
		if err := json.Unmarshal(stdout, &outs); err != nil || len(outs) != 1 || outs[0].Outputs["out"] == "" {
			return "", errorf(h.Name, OpBuild, KindProtocol, "unexpected nix build output %q", truncate(string(stdout), 200))
		}
		return outs[0].Outputs["out"], nil

	case model.BuildRemote, model.BuildOnTarget:
		// As nixos-rebuild --build-host does: copy the derivation to the
		// builder, realise it there, and (for a build host) fetch the
		// result, which the copy step then sends on to the target.
		builder := h.Target
		if h.Build.Where == model.BuildRemote {
			builder = h.Build.Host
			if builder.IsZero() {
				return "", errorf(h.Name, OpBuild, KindOther, "remote build without a build host")
			}
		}
		if drv == "" {
			evs, errs := d.evalHosts(ctx, []*model.Host{h})
			if errs[0] != nil {
				return "", errs[0]
			}
			drv = evs[0].Drv
		}
		out, err := d.realiseOn(ctx, h.Name, builder, drv)
		if err != nil || h.Build.Where == model.BuildOnTarget {
			return out, err
		}
		_, err = d.run(ctx, command{host: h.Name, op: OpBuild,
			argv: d.nix([]string{"copy"}, "--from", storeURI(builder), out),
			env:  d.nixSSHEnv(builder)})
		return out, err
	}
	return "", errorf(h.Name, OpBuild, KindOther, "unknown build placement %q", h.Build.Where)
}

// buildersLine returns the value of nix's builders setting for bs: one
// entry per builder, separated by semicolons, each "URI systems ssh-key
// max-jobs speed-factor features mandatory-features" with "-" for an empty
// field. It is the only place the line is assembled.
func buildersLine(bs []model.Builder) string {
	field := func(xs []string) string {
		if len(xs) == 0 {
			return "-"
		}
		return strings.Join(xs, ",")
	}
	entries := make([]string, len(bs))
	for i, b := range bs {
		uri := "ssh-ng://" + b.Target.Dest()
		keys := make([]string, 0, len(b.StoreParams))
		for k := range b.StoreParams {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for j, k := range keys {
			sep := "&"
			if j == 0 {
				sep = "?"
			}
			// Nix percent-decodes store URI parameters but reads "+" as
			// itself, and the line splits on white space.
			uri += sep + k + "=" + strings.ReplaceAll(url.QueryEscape(b.StoreParams[k]), "+", "%20")
		}
		entries[i] = strings.Join([]string{uri, field(b.Systems), "-",
			strconv.Itoa(max(b.MaxJobs, 1)), strconv.Itoa(max(b.SpeedFactor, 1)),
			field(b.SupportedFeatures), "-"}, " ")
	}
	return strings.Join(entries, ";")
}

// buildersPort returns the ssh port all of bs listen on (0 for ssh's
// default). Nix's builders line has no place for a port, so it goes to ssh
// through NIX_SSHOPTS, which every builder shares.
func buildersPort(bs []model.Builder) (int, error) {
	port := bs[0].Target.Port
	for _, b := range bs[1:] {
		if b.Target.Port != port {
			return 0, fmt.Errorf("builders %s and %s listen on different ssh ports, which nix's builders setting cannot express; give them one port or set it in ssh_config", bs[0].Target.Address, b.Target.Address)
		}
	}
	return port, nil
}

// realiseOn copies drv's closure to the store of t and builds it there.
func (d *driver) realiseOn(ctx context.Context, host string, t model.Target, drv string) (string, error) {
	_, err := d.run(ctx, command{host: host, op: OpBuild,
		argv: d.nix([]string{"copy"}, "--derivation", "--to", storeURI(t), drv),
		env:  d.nixSSHEnv(t)})
	if err != nil {
		return "", err
	}
	words := append([]string{"nix-store", "--realise", drv}, d.opts.RemoteNixArgs...)
	stdout, err := d.run(ctx, command{host: host, op: OpBuild, remote: true,
		argv: d.ssh(t, shellLine(words...))})
	if err != nil {
		return "", err
	}
	out := lastLine(string(stdout))
	if !strings.HasPrefix(out, "/") {
		return "", errorf(host, OpBuild, KindProtocol, "nix-store --realise printed %q", truncate(string(stdout), 200))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Build builds the toplevel of each host with nix build, at most
// Options.Jobs at a time, where each host's model.BuildPlacement says. One
// host's failure does not stop the others unless Options.FailFast is set.
// The results are in the order of hosts.
func Build(ctx context.Context, hosts []*model.Host, opts *Options) []Result {
	d := newDriver(opts)
	results := make([]Result, len(hosts))
	var stop stopFlag
	var g errgroup.Group // zero Group: one host's failure must not cancel the others
	g.SetLimit(d.opts.jobs())
	for i, h := range hosts {
		results[i] = Result{Host: h.Name, Status: Skipped}
		g.Go(func() error {
			if ctx.Err() != nil || stop.stopped() {
				results[i].Err = skippedErr(ctx, h.Name, OpBuild)
				return nil
			}
			start := time.Now()
			d.emit(h.Name, OpBuild, EventStart, "building "+h.Toplevel.Installable(), nil)
			path, err := d.buildHost(ctx, h, "")
			r := &results[i]
			r.Duration = time.Since(start)
			r.StorePath = path
			switch {
			case err == nil:
				r.Status = Built
				d.emit(h.Name, OpBuild, EventDone, path, nil)
			default:
				r.Status, r.Err = Failed, err
				if IsKind(err, KindCanceled) {
					r.Status = Canceled
				}
				d.emit(h.Name, OpBuild, EventFail, err.Error(), err)
				stop.fail(d.opts.FailFast)
			}
			return nil
		})
	}
	g.Wait()
	return results
}

// A stopFlag records that a host failed under FailFast. The zero value is
// not stopped.
type stopFlag struct{ atomic.Bool }

func (s *stopFlag) fail(failFast bool) {
	if failFast {
		s.Store(true)
	}
}

func (s *stopFlag) stopped() bool { return s.Load() }

// skippedErr explains why a host was not attempted.
func skippedErr(ctx context.Context, host string, op Op) error {
	if err := ctx.Err(); err != nil {
		return &Error{Host: host, Op: op, Kind: KindCanceled, ExitCode: -1, Err: err}
	}
	return &Error{Host: host, Op: op, Kind: KindOther, ExitCode: -1, Err: fmt.Errorf("not attempted: another host failed and fail-fast is on")}
}
