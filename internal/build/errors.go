package build

import (
	"errors"
	"fmt"
	"strings"
)

// An Op is the step of the driver an error happened in.
type Op string

// The steps of building and deploying a host.
const (
	OpEval     Op = "eval"     // evaluating the toplevel's store path
	OpBuild    Op = "build"    // nix build
	OpQuery    Op = "query"    // asking the target what it runs
	OpDiff     Op = "diff"     // nix store diff-closures
	OpCopy     Op = "copy"     // nix copy to the target
	OpActivate Op = "activate" // profile and switch-to-configuration
	OpHealth   Op = "health"   // a health check
	OpConfirm  Op = "confirm"  // confirming the new generation
	OpRollback Op = "rollback" // going back to the previous generation
	OpPreview  Op = "preview"  // what activation would change (dry-activate)
	OpRollout  Op = "rollout"  // the order of waves: a host not started, a wave's outcome
	OpGuard    Op = "guard"    // the lockout guard: the new system would lock the deployer out
)

// A Kind classifies an Error.
type Kind int

// The kinds of Error.
const (
	KindOther       Kind = iota // none of the below
	KindExit                    // a command exited with a non-zero status
	KindUnreachable             // ssh could not reach the host
	KindLost                    // the connection was lost while a command ran
	KindCanceled                // the context was canceled
	KindTimeout                 // a deadline passed
	KindCheck                   // a health check did not pass
	KindProtocol                // the target answered something unexpected
)

var kindNames = [...]string{
	KindOther:       "error",
	KindExit:        "command failed",
	KindUnreachable: "unreachable",
	KindLost:        "connection lost",
	KindCanceled:    "canceled",
	KindTimeout:     "timed out",
	KindCheck:       "check failed",
	KindProtocol:    "protocol error",
}

// String returns a short description of k.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// An Error is a runtime failure of one step on one host. It carries what a
// user needs to act without scrolling back: the host, the step, the exit
// status and the tail of the command's standard error.
type Error struct {
	// Host is the host the step ran for.
	Host string
	// Op is the step that failed.
	Op Op
	// Kind classifies the failure.
	Kind Kind
	// ExitCode is the exit status of the failed command, or -1.
	ExitCode int
	// Err is the underlying error; it may be nil when Kind says it all.
	Err error
	// Stderr is the tail of the failed command's standard error.
	Stderr string
}

// Error returns "host: op: kind: err: last line of stderr".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Host != "" {
		b.WriteString(e.Host)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Op))
	b.WriteString(": ")
	b.WriteString(e.detail())
	return b.String()
}

// detail is the error without host and step.
func (e *Error) detail() string {
	var s string
	switch {
	case e.Kind == KindExit && e.ExitCode >= 0:
		s = fmt.Sprintf("exit status %d", e.ExitCode)
	case e.Err != nil:
		s = e.Err.Error()
	default:
		s = e.Kind.String()
	}
	if line := summaryLine(e.Stderr); line != "" && !strings.Contains(s, line) {
		s += ": " + line
	}
	return s
}

// detail describes err for a message that already names host and step.
func detail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.detail()
	}
	return err.Error()
}

// summaryLine picks the line of a command's standard error that best
// says what went wrong: nix's last "error:" line if there is one (the lines
// after it are log excerpts and hints), else the last line. An activation's
// tail ends with what rolling back printed, after the protocol's
// "fleet: activation failed" line; that part is left out, since it says
// nothing about the failure.
func summaryLine(stderr string) string {
	if i := strings.Index(stderr, "fleet: activation failed"); i >= 0 {
		stderr = stderr[:i]
	}
	lines := strings.Split(stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "error:") {
			return l
		}
	}
	return lastLine(stderr)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// lastLine returns the last non-blank line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// IsKind reports whether err is or wraps an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// errorf returns an *Error of kind k with a formatted underlying error.
func errorf(host string, op Op, k Kind, format string, args ...any) *Error {
	return &Error{Host: host, Op: op, Kind: k, ExitCode: -1, Err: fmt.Errorf(format, args...)}
}
