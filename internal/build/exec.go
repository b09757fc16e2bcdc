package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fleetnix.dev/fleet/internal/model"
)

// stderrTail is how much of a command's standard error an Error keeps.
const stderrTail = 4 << 10

// A driver is the state shared by the steps of one call into the package.
type driver struct {
	opts *Options
	ev   *emitter
	// cpu bounds the commands that keep this machine's cores busy
	// (evaluation, builds); net bounds those that mostly wait on a
	// network or on another machine (queries, copies, activation,
	// health checks).
	cpu, net limiter
	// waves maps host names to their rollout waves, for events.
	waves map[string]int
	// stop is set when a host failed under Options.FailFast.
	stop stopFlag
}

func newDriver(opts *Options) *driver {
	if opts == nil {
		opts = &Options{}
	}
	return &driver{opts: opts, ev: &emitter{fn: opts.Events},
		cpu: make(limiter, opts.jobs()), net: make(limiter, opts.netJobs())}
}

// A limiter bounds how many commands of one kind run at once.
type limiter chan struct{}

// acquire takes a place, waiting for one; it fails when ctx ends first.
func (l limiter) acquire(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l limiter) release() { <-l }

// limitFor returns the limiter of the commands of step op: evaluation
// and building are bound by this machine's (or a builder's) processors,
// everything else by waiting on networks and targets.
func (d *driver) limitFor(op Op) limiter {
	if op == OpEval || op == OpBuild {
		return d.cpu
	}
	return d.net
}

func (d *driver) emit(host string, op Op, k EventKind, msg string, err error) {
	d.ev.emit(Event{Host: host, Wave: d.waves[host], Op: op, Kind: k, Msg: msg, Err: err})
}

// A command is one process to run for a host.
type command struct {
	host  string
	op    Op
	argv  []string
	env   []string  // added to the environment
	stdin io.Reader // nil means no input
	// remote marks an ssh command, whose exit status 255 means ssh
	// itself failed rather than the remote command.
	remote bool
	// tail, if not nil, receives the tail of standard error even when
	// the command succeeds.
	tail *string
}

// run runs c and returns its standard output. A failure is an *Error
// carrying the exit status and the tail of standard error; each line of
// standard error is also reported as an EventOutput.
func (d *driver) run(ctx context.Context, c command) ([]byte, error) {
	l := d.limitFor(c.op)
	if err := l.acquire(ctx); err != nil {
		kind := KindCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			kind = KindTimeout
		}
		return nil, &Error{Host: c.host, Op: c.op, Kind: kind, ExitCode: -1, Err: err}
	}
	defer l.release()
	d.emit(c.host, c.op, EventExec, strings.Join(c.argv, " "), nil)
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	// Ask politely first: nix and ssh clean up on SIGTERM (nix stops its
	// builders, ssh closes the channel); kill only if they do not exit.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(append(os.Environ(), d.opts.Env...), c.env...)
	if c.stdin != nil {
		cmd.Stdin = c.stdin
	}
	var stdout bytes.Buffer
	tail := &tailWriter{max: stderrTail, line: func(l string) { d.emit(c.host, c.op, EventOutput, l, nil) }}
	cmd.Stdout = &stdout
	cmd.Stderr = tail
	err := cmd.Run()
	tail.flush()
	if c.tail != nil {
		*c.tail = tail.String()
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &Error{Host: c.host, Op: c.op, Kind: KindOther, ExitCode: -1, Err: err, Stderr: tail.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.Kind = KindCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Kind = KindTimeout
		}
		e.Err = ctx.Err()
	case errors.As(err, &exit):
		e.ExitCode = exit.ExitCode()
		e.Kind = KindExit
		if c.remote && e.ExitCode == 255 {
			e.Kind = KindUnreachable
			e.Err = errors.New("ssh failed")
		}
	}
	return stdout.Bytes(), e
}

// A tailWriter keeps the last max bytes written to it and reports each
// complete line.
type tailWriter struct {
	max  int
	buf  []byte
	part []byte
	line func(string)
}

// Write keeps p and reports the lines it completes.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if w.line != nil {
			w.line(string(w.part[:i]))
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *tailWriter) flush() {
	if len(w.part) > 0 && w.line != nil {
		w.line(string(w.part))
	}
	w.part = nil
}

// String returns the kept tail, starting at a line boundary.
func (w *tailWriter) String() string {
	b := w.buf
	if len(b) > w.max {
		b = b[len(b)-w.max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// nix returns the argv of a local nix command: nix, sub, the user's extra
// arguments, then args.
func (d *driver) nix(sub []string, args ...string) []string {
	n := d.opts.Nix
	if n == "" {
		n = "nix"
	}
	argv := append([]string{n}, sub...)
	argv = append(argv, d.opts.NixArgs...)
	return append(argv, args...)
}

// sshOptions returns the ssh options to reach t, without the destination.
func (d *driver) sshOptions(t model.Target) []string {
	opts := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"}
	if t.Port != 0 {
		opts = append(opts, "-p", strconv.Itoa(t.Port))
	}
	return append(opts, d.opts.SSHArgs...)
}

// ssh returns the argv running the shell command line script on t. The
// remote side hands it to the login shell, so every argument inside it
// must be quoted with shellQuote. "--" ends ssh's options before the
// destination, so nothing after it is ever read as one; callers check the
// target with model.Target.Validate first all the same.
func (d *driver) ssh(t model.Target, script string) []string {
	s := d.opts.SSH
	if s == "" {
		s = "ssh"
	}
	argv := append([]string{s}, d.sshOptions(t)...)
	return append(argv, "--", t.Dest(), script)
}

// nixSSHEnv returns the environment that makes nix reach t over ssh.
func (d *driver) nixSSHEnv(t model.Target) []string {
	// nix runs "ssh" from $PATH whatever Options.SSH says; only the
	// options can be passed on.
	return []string{"NIX_SSHOPTS=" + strings.Join(d.sshOptions(t), " ")}
}

// storeURI returns the legacy ssh store URI of t, as nix copy takes it.
func storeURI(t model.Target) string {
	return "ssh://" + t.Dest()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellLine quotes each word and joins them.
func shellLine(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}
