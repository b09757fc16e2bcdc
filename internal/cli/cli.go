// Package cli implements the fleetgen command line: subcommands, flags,
// printing diagnostics once, and exit codes. It imports only package fleet
// and the standard library.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

// Exit codes of fleetgen.
const (
	exitOK    = 0 // nothing wrong
	exitFail  = 1 // errors or findings
	exitUsage = 2 // the command line itself is wrong
)

// A command is one fleetgen subcommand.
type command struct {
	name  string // as typed: "vet", "schema sync"
	args  string // synopsis of the arguments, for usage
	short string // one line for "fleetgen help"
	long  string // more for "fleetgen help <command>", if any
	run   func(e *env, args []string) int
}

var commands = map[string]*command{}

// register adds c to the table of subcommands. Each file of this package
// registers its own commands from init, so the table has one home per
// command.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("cli: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// An env is what a command runs with: its output streams, working
// directory and a context cancelled on interrupt.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
	cwd            string
}

// errUsage marks a usage error already described to the user.
var errUsage = errors.New("usage")

// Main runs fleetgen with args (without the program name) and returns the
// process exit code. It never calls os.Exit.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "fleetgen: %v\n", err)
		return exitFail
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, cwd: cwd}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1:]); c != nil {
				fmt.Fprintf(stdout, "usage: %s\n\n%s\n%s", strings.TrimSpace("fleetgen "+c.name+" "+c.args), c.short, c.long)
				return exitOK
			}
		}
		usage(stdout)
		return exitOK
	}
	c := lookup(args)
	if c == nil {
		if strings.HasPrefix(args[0], ".") || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "/") {
			// "fleetgen ./..." and "fleetgen --check ./..." mean "fleetgen gen ...".
			if g := commands["gen"]; g != nil {
				return g.run(e, args)
			}
		}
		fmt.Fprintf(stderr, "fleetgen: unknown command %q\nRun 'fleetgen help' for usage.\n", strings.Join(args[:1], " "))
		return exitUsage
	}
	return c.run(e, args[len(strings.Fields(c.name)):])
}

// lookup finds the longest registered command name that prefixes args.
func lookup(args []string) *command {
	if len(args) >= 2 {
		if c := commands[args[0]+" "+args[1]]; c != nil {
			return c
		}
	}
	return commands[args[0]]
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "fleetgen checks, generates, lints, builds and deploys a NixOS fleet described in CUE.\n\nUsage:\n\n\tfleetgen <command> [arguments]\n\nThe commands are:\n\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%-18s %s\n", n, commands[n].short)
	}
	fmt.Fprintf(w, "\n\"fleetgen ./...\" is \"fleetgen gen ./...\". Exit status: 0 clean, 1 errors or findings, 2 usage.\n")
	fmt.Fprintf(w, "\nEach host's evaluation is cached in $FLEETCACHE (default: the user's cache\ndirectory, fleet/); FLEETCACHE=off turns the cache off.\n")
}

// cacheDir returns where loads keep each host's evaluation: $FLEETCACHE,
// or fleet/ in the user's cache directory; "" (no cache) for
// FLEETCACHE=off or when there is no cache directory.
func cacheDir() string {
	switch d := os.Getenv("FLEETCACHE"); d {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "fleet")
	default:
		return d
	}
}

// flags returns a FlagSet for c that reports usage errors to e.stderr.
func (e *env) flags(c string, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: fleetgen %s %s\n", c, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args with fs, allowing flags after positional arguments as
// the go command does. It returns false after printing a usage error.
func parse(fs *flag.FlagSet, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, true
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// report prints err once: diagnostics through the fleet printer with paths
// relative to the working directory, anything else as one line. It returns
// the exit code for err.
func (e *env) report(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	if fleet.PrintErrors(e.stderr, e.cwd, err) {
		return exitFail
	}
	fmt.Fprintf(e.stderr, "fleetgen: %v\n", err)
	return exitFail
}

// usageErr prints a usage message for c and returns exitUsage.
func (e *env) usageErr(c, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "fleetgen %s: %s\n", c, fmt.Sprintf(format, args...))
	return exitUsage
}
