package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "completion",
		args:  "bash|zsh|fish",
		short: "print a shell completion script for fleetgen: commands, flags and the fleet's hosts",
		long: `Load the script in the shell, or install it where the shell finds
completions:

	bash:  source <(fleetgen completion bash)
	zsh:   source <(fleetgen completion zsh)
	       (or save it as _fleetgen in a directory of $fpath)
	fish:  fleetgen completion fish | source
	       (or save it as ~/.config/fish/completions/fleetgen.fish)

Commands that take hosts complete the names and @tags of the fleet in the
current directory.`,
		run: runCompletion,
	})
}

// hostsCommand is the hidden command the completion scripts run to list
// the hosts and tags of the fleet in the current directory, one a line.
const hostsCommand = "__complete-hosts"

// takesHosts lists the commands whose arguments are hosts.
var takesHosts = map[string]bool{
	"build": true, "deploy": true, "ping": true, "status": true, "installer": true,
	"export": true, "hosts": true, "explain": true, "check": true,
}

func runCompletion(e *env, args []string) int {
	fs := e.flags("completion", "bash|zsh|fish")
	rest, ok := parse(fs, args)
	if !ok {
		return e.parseFailed()
	}
	if len(rest) != 1 {
		return e.usageErr("completion", "name one shell: bash, zsh or fish")
	}
	spec := completionSpec()
	switch rest[0] {
	case "bash":
		writeBash(e.stdout, spec)
	case "zsh":
		writeZsh(e.stdout, spec)
	case "fish":
		writeFish(e.stdout, spec)
	default:
		return e.usageErr("completion", "unknown shell %q (want bash, zsh or fish)", rest[0])
	}
	return exitOK
}

// runCompleteHosts prints the names and @tags of the fleet's hosts, for
// the completion scripts; it prints nothing when the fleet does not load.
func runCompleteHosts(e *env) int {
	f, err := fleet.Load(e.ctx, e.config(nil, false))
	if err != nil {
		return exitFail
	}
	tags := map[string]bool{}
	for _, h := range f.Hosts() {
		fmt.Fprintln(e.stdout, h.Name)
		for _, t := range h.Tags {
			tags[t] = true
		}
	}
	for _, t := range sortedKeys(tags) {
		fmt.Fprintln(e.stdout, "@"+t)
	}
	return exitOK
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A compCommand is what completion knows of one command.
type compCommand struct {
	name, short string
	flags       []compFlag
	hosts       bool
}

// A compFlag is one flag of a command.
type compFlag struct {
	name, usage string
	value       bool // the flag takes a value
}

// completionSpec describes every command and its flags, as the commands
// define them: each command is run for its help, with the output thrown
// away, and its flag set kept.
func completionSpec() []compCommand {
	e := &env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, cwd: ".", helping: true,
		flagSets: map[string]*flag.FlagSet{}}
	var out []compCommand
	for _, name := range sortedCommandNames() {
		c := commands[name]
		if name != "completion" {
			c.run(e, []string{"--help"})
		}
		cc := compCommand{name: name, short: c.short, hosts: takesHosts[name]}
		if fs := e.flagSets[name]; fs != nil {
			fs.VisitAll(func(f *flag.Flag) {
				if strings.HasPrefix(f.Usage, testOnly) {
					return
				}
				_, isBool := f.Value.(interface{ IsBoolFlag() bool })
				_, use := flag.UnquoteUsage(f)
				cc.flags = append(cc.flags, compFlag{name: f.Name, usage: firstLine(use), value: !isBool})
			})
		}
		out = append(out, cc)
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if i := strings.Index(s, "; "); i > 0 {
		s = s[:i]
	}
	return s
}

// dashed returns a flag as typed: -j, --dry-run.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// groups returns the first words of two-word commands ("import" for
// "import hardware") with their second words.
func groups(spec []compCommand) map[string][]compCommand {
	out := map[string][]compCommand{}
	for _, c := range spec {
		if g, sub, ok := strings.Cut(c.name, " "); ok {
			out[g] = append(out[g], compCommand{name: sub, short: c.short})
		}
	}
	return out
}

// topLevel returns the first words of every command, once, with a
// description.
func topLevel(spec []compCommand) []compCommand {
	seen := map[string]bool{}
	var out []compCommand
	for _, c := range spec {
		first, _, grouped := strings.Cut(c.name, " ")
		if seen[first] {
			continue
		}
		seen[first] = true
		short := c.short
		if grouped && commands[first] == nil {
			short = "the " + first + " commands"
		}
		out = append(out, compCommand{name: first, short: short})
	}
	return out
}

// writeCommandWord writes the loop of a bash or zsh script that finds
// the command among the words before the cursor (from index first, up to
// but not including index cur; word is the shell's word i): the first word
// that is not a flag, and the next one too for a two-word command.
func writeCommandWord(b *strings.Builder, spec []compCommand, first, cur, word string, quote func(string) string) {
	fmt.Fprintf(b, "\tfor ((i = %s; i < %s; i++)); do\n", first, cur)
	fmt.Fprintf(b, "\t\tw=\"%s\"\n", word)
	b.WriteString("\t\t[[ $w == -* ]] && continue\n")
	b.WriteString("\t\tif [[ -z $cmd ]]; then cmd=\"$w\"; continue; fi\n")
	b.WriteString("\t\tcase \"$cmd $w\" in\n")
	for _, c := range spec {
		if strings.Contains(c.name, " ") {
			fmt.Fprintf(b, "\t\t%s) cmd=\"$cmd $w\" ;;\n", quote(c.name))
		}
	}
	b.WriteString("\t\tesac\n\t\tbreak\n\tdone\n")
}

const scriptHead = "# %s completion for fleetgen, written by \"fleetgen completion %s\".\n"

func writeBash(w io.Writer, spec []compCommand) {
	var b strings.Builder
	fmt.Fprintf(&b, scriptHead, "bash", "bash")
	b.WriteString("# Load it with: source <(fleetgen completion bash)\n")
	b.WriteString("_fleetgen() {\n")
	b.WriteString("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"\" w i words=\"\" hosts=\"\"\n")
	writeCommandWord(&b, spec, "1", "COMP_CWORD", "${COMP_WORDS[i]}", strconv.Quote)
	b.WriteString("\tcase \"$cmd\" in\n")
	var top []string
	for _, c := range topLevel(spec) {
		top = append(top, c.name)
	}
	fmt.Fprintf(&b, "\t\"\") words=%q ;;\n", strings.Join(append(top, "--help", "--version"), " "))
	gs := groups(spec)
	for _, c := range spec {
		var words []string
		if subs, ok := gs[c.name]; ok {
			for _, s := range subs {
				words = append(words, s.name)
			}
		}
		for _, f := range c.flags {
			words = append(words, dashed(f.name))
		}
		words = append(words, "--help")
		fmt.Fprintf(&b, "\t%q) words=%q", c.name, strings.Join(words, " "))
		if c.hosts {
			b.WriteString("; hosts=1")
		}
		b.WriteString(" ;;\n")
	}
	for _, g := range sortedKeys(gs) {
		if commands[g] == nil {
			var words []string
			for _, s := range gs[g] {
				words = append(words, s.name)
			}
			fmt.Fprintf(&b, "\t%q) words=%q ;;\n", g, strings.Join(words, " "))
		}
	}
	b.WriteString("\tesac\n")
	fmt.Fprintf(&b, "\tif [[ -n $hosts && $cur != -* ]]; then\n\t\twords=\"$words $(fleetgen %s 2>/dev/null)\"\n\tfi\n", hostsCommand)
	b.WriteString("\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n")
	b.WriteString("\tif [[ ${#COMPREPLY[@]} -eq 0 && $cur != -* ]]; then\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\tfi\n")
	b.WriteString("}\ncomplete -F _fleetgen fleetgen\n")
	io.WriteString(w, b.String())
}

// zshQuote quotes s in single quotes for zsh, as an entry "name:desc"
// of _describe, where a colon in the name is escaped.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeZsh(w io.Writer, spec []compCommand) {
	var b strings.Builder
	b.WriteString("#compdef fleetgen\n")
	fmt.Fprintf(&b, scriptHead, "zsh", "zsh")
	b.WriteString("# Load it with: source <(fleetgen completion zsh)\n# or save it as _fleetgen in a directory of $fpath.\n")
	b.WriteString("_fleetgen() {\n")
	b.WriteString("\tlocal cmd=\"\" w i\n\tlocal -a cmds flags\n")
	writeCommandWord(&b, spec, "2", "CURRENT", "${words[i]}", zshQuote)
	b.WriteString("\tcase $cmd in\n")
	b.WriteString("\t'')\n\t\tcmds=(\n")
	for _, c := range topLevel(spec) {
		fmt.Fprintf(&b, "\t\t\t%s\n", zshQuote(c.name+":"+c.short))
	}
	b.WriteString("\t\t)\n\t\t_describe -t commands 'fleetgen command' cmds\n\t\treturn ;;\n")
	gs := groups(spec)
	for _, g := range sortedKeys(gs) {
		if commands[g] != nil {
			continue
		}
		b.WriteString("\t" + zshQuote(g) + ")\n\t\tcmds=(\n")
		for _, s := range gs[g] {
			fmt.Fprintf(&b, "\t\t\t%s\n", zshQuote(s.name+":"+s.short))
		}
		b.WriteString("\t\t)\n\t\t_describe -t commands 'fleetgen " + g + " command' cmds\n\t\treturn ;;\n")
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tcase $cmd in\n")
	for _, c := range spec {
		var fl []string
		for _, f := range c.flags {
			fl = append(fl, zshQuote(dashed(f.name)))
		}
		fl = append(fl, "--help")
		fmt.Fprintf(&b, "\t%s) flags=(%s) ;;\n", zshQuote(c.name), strings.Join(fl, " "))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $PREFIX == -* ]]; then\n\t\tcompadd -- $flags\n\t\treturn\n\tfi\n")
	b.WriteString("\tcase $cmd in\n")
	var hc []string
	for _, c := range spec {
		if c.hosts {
			hc = append(hc, c.name)
		}
	}
	fmt.Fprintf(&b, "\t%s) compadd -- ${(f)\"$(fleetgen %s 2>/dev/null)\"} ;;\n", strings.Join(hc, "|"), hostsCommand)
	b.WriteString("\tesac\n\t_files\n}\n")
	b.WriteString("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n\t_fleetgen \"$@\"\nelse\n\tcompdef _fleetgen fleetgen\nfi\n")
	io.WriteString(w, b.String())
}

// fishQuote quotes s in single quotes for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, spec []compCommand) {
	var b strings.Builder
	fmt.Fprintf(&b, scriptHead, "fish", "fish")
	b.WriteString("# Load it with: fleetgen completion fish | source\n# or save it as ~/.config/fish/completions/fleetgen.fish.\n")
	var top []string
	for _, c := range topLevel(spec) {
		top = append(top, c.name)
	}
	for _, c := range topLevel(spec) {
		fmt.Fprintf(&b, "complete -c fleetgen -n '__fish_use_subcommand' -f -a %s -d %s\n", fishQuote(c.name), fishQuote(c.short))
	}
	b.WriteString("complete -c fleetgen -n '__fish_use_subcommand' -l version -d 'print the versions'\n")
	gs := groups(spec)
	for _, g := range sortedKeys(gs) {
		var subs []string
		for _, s := range gs[g] {
			subs = append(subs, s.name)
		}
		cond := fmt.Sprintf("__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s", g, strings.Join(subs, " "))
		for _, s := range gs[g] {
			fmt.Fprintf(&b, "complete -c fleetgen -n %s -f -a %s -d %s\n", fishQuote(cond), fishQuote(s.name), fishQuote(s.short))
		}
	}
	for _, c := range spec {
		cond := "__fish_seen_subcommand_from " + c.name
		if g, sub, ok := strings.Cut(c.name, " "); ok {
			cond = fmt.Sprintf("__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s", g, sub)
		}
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			if f.value {
				opt += " -r"
			}
			fmt.Fprintf(&b, "complete -c fleetgen -n %s %s -d %s\n", fishQuote(cond), opt, fishQuote(f.usage))
		}
		if c.hosts {
			fmt.Fprintf(&b, "complete -c fleetgen -n %s -f -a %s\n", fishQuote(cond), fishQuote("(fleetgen "+hostsCommand+" 2>/dev/null)"))
		}
	}
	io.WriteString(w, b.String())
}
