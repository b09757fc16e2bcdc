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
	long  string // more, for "fleetgen help <command>"; may be empty
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
	// helping is set when the command line asks for help (-h, --help,
	// fleetgen help CMD): usage then goes to stdout, and the command
	// exits 0 after printing it.
	helping bool
	// flagSets records the flag set each command makes, for completion
	// scripts.
	flagSets map[string]*flag.FlagSet
	// tty says stderr is a terminal (progress is drawn there); color,
	// that diagnostics on stderr get colour.
	tty, color bool
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
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, cwd: cwd,
		tty: isTerminal(stderr), color: useColor(stderr, os.Getenv)}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		// "fleetgen help CMD" is "fleetgen CMD --help".
		args = append(args[1:len(args):len(args)], "--help")
	case "--version", "-version":
		return runVersion(e, args[1:])
	case hostsCommand:
		return runCompleteHosts(e)
	}
	if wantsHelp(args) {
		e.helping = true
		e.stderr = stdout
	}
	c := lookup(args)
	if c == nil {
		if sub := subcommands(args[0]); len(sub) > 0 {
			return e.groupUsage(args)
		}
		if strings.HasPrefix(args[0], ".") || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "/") {
			// "fleetgen ./..." and "fleetgen --check ./..." mean "fleetgen gen ...".
			if g := commands["gen"]; g != nil {
				return e.finishRun(g.run(e, args))
			}
		}
		fmt.Fprintf(e.stderr, "fleetgen: unknown command %q\nRun 'fleetgen help' for usage.\n", strings.Join(args[:1], " "))
		return exitUsage
	}
	return e.finishRun(c.run(e, args[len(strings.Fields(c.name)):]))
}

// finishRun returns a command's exit code, or 0 when it printed the help
// that was asked for.
func (e *env) finishRun(code int) int {
	if e.helping {
		return exitOK
	}
	return code
}

// wantsHelp reports whether args ask for help: -h, -help or --help before
// any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
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

// subcommands returns the commands named "group <sub>", sorted.
func subcommands(group string) []*command {
	var out []*command
	for _, n := range sortedCommandNames() {
		if rest, ok := strings.CutPrefix(n, group+" "); ok && rest != "" {
			out = append(out, commands[n])
		}
	}
	return out
}

func sortedCommandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// groupUsage prints the subcommands of the group args[0] ("fleetgen
// import", "fleetgen secrets --help"): on stdout with exit 0 when help was
// asked for, else as a usage error.
func (e *env) groupUsage(args []string) int {
	group := args[0]
	w := e.stderr
	if e.helping {
		w = e.stdout
	}
	if !e.helping {
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			fmt.Fprintf(w, "fleetgen %s: unknown command %q\n", group, args[1])
		} else {
			fmt.Fprintf(w, "fleetgen %s: missing command\n", group)
		}
	}
	fmt.Fprintf(w, "usage: fleetgen %s <command> [arguments]\n\nThe commands are:\n\n", group)
	writeCommandList(w, subcommands(group), group+" ")
	fmt.Fprintf(w, "\nRun 'fleetgen help %s <command>' for more about a command.\n", group)
	if e.helping {
		return exitOK
	}
	return exitUsage
}

// writeCommandList writes one line per command, without prefix, indented
// by a tab as go help does.
func writeCommandList(w io.Writer, cs []*command, prefix string) {
	width := 0
	for _, c := range cs {
		width = max(width, len(strings.TrimPrefix(c.name, prefix)))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "\t%-*s  %s\n", width, strings.TrimPrefix(c.name, prefix), c.short)
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "fleetgen checks, generates, lints, builds and deploys a NixOS fleet described in CUE.\n\nUsage:\n\n\tfleetgen <command> [arguments]\n\nThe commands are:\n\n")
	var cs []*command
	for _, n := range sortedCommandNames() {
		cs = append(cs, commands[n])
	}
	writeCommandList(w, cs, "")
	fmt.Fprintf(w, "\n\"fleetgen ./...\" is \"fleetgen gen ./...\". Exit status: 0 clean, 1 errors or findings, 2 usage.\n")
	fmt.Fprintf(w, "Run 'fleetgen help <command>' for more about a command, 'fleetgen --version' for the versions.\n")
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

// flags returns a FlagSet for the command c, whose arguments are args,
// that reports usage errors to e.stderr; asked for help, it prints the
// command's description as well.
func (e *env) flags(c string, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: fleetgen %s %s\n", c, args)
		if cmd := commands[c]; cmd != nil && e.helping {
			fmt.Fprintf(w, "\n%s\n", upperFirst(cmd.short))
			if cmd.long != "" {
				fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
			}
			if sub := subcommands(c); len(sub) > 0 {
				fmt.Fprintf(w, "\nThe commands of fleetgen %s are:\n\n", c)
				writeCommandList(w, sub, c+" ")
			}
		}
		printFlags(w, fs)
	}
	if e.flagSets != nil {
		e.flagSets[c] = fs
	}
	return fs
}

// parseFailed returns the exit code of a command whose flags did not
// parse: 0 when it printed the help asked for, else 2.
func (e *env) parseFailed() int {
	if e.helping {
		return exitOK
	}
	return exitUsage
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// testOnly marks the usage of a flag that exists for fleet's own tests:
// help does not list it.
const testOnly = "for testing:"

// printFlags writes the flags of fs as flag.PrintDefaults does, without
// those for testing.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, testOnly) {
			return
		}
		if first {
			fmt.Fprintf(w, "\nFlags:\n")
			first = false
		}
		dash := "-"
		if len(f.Name) > 1 {
			dash = "--"
		}
		name, use := flag.UnquoteUsage(f)
		line := "  " + dash + f.Name
		if name != "" {
			line += " " + name
		}
		if len(line) <= 4 {
			line += "\t"
		} else {
			line += "\n    \t"
		}
		line += strings.ReplaceAll(use, "\n", "\n    \t")
		switch f.DefValue {
		case "", "false", "0", "0s", "[]":
		default:
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
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
	if e.printErrors(e.stderr, err) {
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
