package build

import (
	"context"
	"encoding/json"
	"time"

	"golang.org/x/sync/errgroup"
)

// An Evaluation asks nix to evaluate one host: the flake attribute
// Installable ("path:/fleet/nix#nixosConfigurations.web"), with the
// function Apply applied to it, as JSON; or the expression Expr.
type Evaluation struct {
	Host        string
	Installable string
	// Apply is a Nix function, a constant of the caller's: never data.
	Apply string
	// Expr, when set, is evaluated instead of Installable, impurely (nix
	// eval --impure --expr): a constant Nix expression of the caller's,
	// never data, which reads its data from Env with builtins.getEnv.
	Expr string
	// Env are NAME=value pairs added to nix's environment.
	Env []string
}

// An Evaluated is the outcome of one Evaluation.
type Evaluated struct {
	Host string
	// Output is what the evaluation printed, JSON, when it succeeded.
	Output json.RawMessage
	// Stderr is the tail of what nix printed on standard error, on success
	// too: the warnings traced during the evaluation are there.
	Stderr string
	// Err is an *Error when nix failed or could not run.
	Err      error
	Duration time.Duration
}

// Evaluate runs nix eval for each evaluation, at most opts.Jobs at once,
// with the flake's lock file as it is (--no-update-lock-file) and without
// the network (--offline). A failed host does not stop the others. The
// results are indexed like evals; progress goes to opts.Events as OpEval
// steps.
func Evaluate(ctx context.Context, evals []Evaluation, opts *Options) []Evaluated {
	d := newDriver(opts)
	out := make([]Evaluated, len(evals))
	var g errgroup.Group
	g.SetLimit(d.opts.jobs())
	for i, ev := range evals {
		g.Go(func() error {
			start := time.Now()
			d.emit(ev.Host, OpEval, EventStart, "", nil)
			var tail string
			argv := d.nix([]string{"eval"}, "--json", "--offline", "--no-update-lock-file", ev.Installable, "--apply", ev.Apply)
			if ev.Expr != "" {
				argv = d.nix([]string{"eval"}, "--json", "--offline", "--no-update-lock-file", "--impure", "--expr", ev.Expr)
			}
			stdout, err := d.run(ctx, command{host: ev.Host, op: OpEval, tail: &tail, argv: argv, env: ev.Env})
			out[i] = Evaluated{Host: ev.Host, Stderr: tail, Err: err, Duration: time.Since(start)}
			if err == nil {
				if !json.Valid(stdout) {
					out[i].Err = errorf(ev.Host, OpEval, KindProtocol, "nix eval printed no JSON")
				} else {
					out[i].Output = stdout
				}
			}
			if out[i].Err != nil {
				d.emit(ev.Host, OpEval, EventFail, "", out[i].Err)
			} else {
				d.emit(ev.Host, OpEval, EventDone, "", nil)
			}
			return nil
		})
	}
	g.Wait()
	return out
}

// LockFlake writes the lock file of the flake ref, without the network:
// every input must be a local path or already in the store.
func LockFlake(ctx context.Context, ref string, opts *Options) error {
	d := newDriver(opts)
	_, err := d.run(ctx, command{op: OpEval, argv: d.nix([]string{"flake", "lock"}, "--offline", ref)})
	return err
}
