// Package nixerr reads what Nix prints on standard error while it
// evaluates a NixOS configuration: the error that stopped it and the
// warnings traced on the way, each classified by the wording of Nix 2.8 and
// of the NixOS module system (failed assertions, an option that does not
// exist, conflicting definitions, a definition of the wrong type, a
// missing attribute, deprecations), with the option, files and values the
// message names.
//
// It knows nothing of fleet's files: mapping a problem back to the user's
// source is the caller's business.
package nixerr

import (
	"regexp"
	"strconv"
	"strings"
)

// A Kind classifies a Problem.
type Kind string

// The kinds of Problem.
const (
	// Assertion is "Failed assertions:" with one item per failed
	// assertion (Problem.Items).
	Assertion Kind = "assertion"
	// UndeclaredOption is "The option `x' does not exist."
	UndeclaredOption Kind = "undeclared-option"
	// Conflict is "The option `x' has conflicting definition values", or
	// a unique option defined twice, or defined both null and not null.
	Conflict Kind = "conflict"
	// WrongType is "A definition for option `x' is not of type `t'."
	WrongType Kind = "wrong-type"
	// MissingAttribute is "attribute 'x' missing", at a position.
	MissingAttribute Kind = "missing-attribute"
	// Undefined is "The option `x' is used but not defined."
	Undefined Kind = "undefined-option"
	// Deprecation is a warning that an option was renamed or removed.
	Deprecation Kind = "deprecation"
	// Warning is any other warning the evaluation traced.
	Warning Kind = "warning"
	// Other is any other error.
	Other Kind = "other"
)

// A Problem is one error or warning of an evaluation.
type Problem struct {
	Kind Kind
	// IsWarning is set for warnings; the evaluation went on.
	IsWarning bool
	// Message is the message as Nix printed it, without "error: " or the
	// trace's prefix, its continuation lines unindented and without the
	// source excerpt and hints Nix adds.
	Message string
	// Option is the option the message is about, as NixOS prints option
	// paths (a "[definition N-entry M]" label for a list element); empty
	// when it names none.
	Option string
	// Type is the type a WrongType definition is not of.
	Type string
	// Defs are the definitions the message lists: where, and the value as
	// NixOS printed it ("" when it printed none).
	Defs []Def
	// Attr is the missing attribute of a MissingAttribute.
	Attr string
	// At is the position Nix gives for the error, if any.
	At *Location
	// Items are the failed assertions of an Assertion, one message each.
	Items []string
	// Files are the files a deprecation names (where the old option is
	// defined).
	Files []string
	// RenamedTo is the option a renamed option is now (Deprecation).
	RenamedTo string
	// Suggestions are what Nix suggests instead of a missing attribute
	// ("Did you mean ...?").
	Suggestions []string
}

// A Def is one definition of an option as NixOS lists it.
type Def struct {
	File  string
	Value string
}

// A Location is a file:line:column of Nix source.
type Location struct {
	File      string
	Line, Col int
}

var (
	ansi        = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
	atLine      = regexp.MustCompile(`^\s*at (.+):(\d+):(\d+):$`)
	excerpt     = regexp.MustCompile(`^\s*(\d+)?\s*\|`)
	defLine     = regexp.MustCompile("^- In `(.*?)'(?::(?: (.*))?)?$")
	reUndecl    = regexp.MustCompile("^The option `(.*?)' does not exist\\. Definition values:")
	reConflict  = regexp.MustCompile("^The option `(.*?)' has conflicting definition values:")
	reUnique    = regexp.MustCompile("^The option `(.*?)' is defined multiple times while it's expected to be unique\\.")
	reNullBoth  = regexp.MustCompile("^The option `(.*?)' is defined both null and not null")
	reType      = regexp.MustCompile("^A definition for option `(.*?)' is not of type `(.*?)'\\. Definition values:")
	reUndefined = regexp.MustCompile("^The option `(.*?)' is used but not defined\\.")
	reAttr      = regexp.MustCompile("^attribute '(.*?)' missing")
	reRenamed   = regexp.MustCompile("^The option `(.*?)' defined in (.*) has been (?:renamed|changed) to `(.*?)'")
	reRemoved   = regexp.MustCompile("^The option definition `(.*?)' in (.*) no longer has any effect; please remove it\\.")
	reFile      = regexp.MustCompile("`([^`']*)'")
	// Nix 2.8 suggests "Did you mean go?" or "Did you mean one of a, b
	// or c?".
	reDidYouMean = regexp.MustCompile(`^Did you mean (?:one of )?(.+)\?$`)
)

// Parse returns the problems in what a nix command printed on standard
// error: each warning traced during the evaluation, in order, then the
// error that ended it, if any.
func Parse(stderr string) []Problem {
	lines := strings.Split(ansi.ReplaceAllString(strings.ReplaceAll(stderr, "\r\n", "\n"), ""), "\n")
	var out []Problem
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "trace: "):
			msg := []string{strings.TrimPrefix(l, "trace: ")}
			for i+1 < len(lines) && !startsMessage(lines[i+1]) {
				i++
				msg = append(msg, lines[i])
			}
			if p, ok := traced(strings.TrimRight(strings.Join(msg, "\n"), "\n")); ok {
				out = append(out, p)
			}
		case strings.HasPrefix(l, "error:"):
			out = append(out, parseError(lines[i:]))
			return out
		}
	}
	return out
}

// startsMessage reports whether a line of standard error starts a new
// message rather than continuing one.
func startsMessage(l string) bool {
	return strings.HasPrefix(l, "trace: ") || strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "warning: ")
}

// traced reads a trace: the warnings NixOS prints through lib.warn
// ("evaluation warning: ", or "warning: " in older nixpkgs).
func traced(msg string) (Problem, bool) {
	for _, prefix := range []string{"evaluation warning: ", "warning: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			p := Problem{Kind: Warning, IsWarning: true, Message: rest}
			if m := reRenamed.FindStringSubmatch(rest); m != nil {
				p.Kind, p.Option, p.Files, p.RenamedTo = Deprecation, m[1], files(m[2]), m[3]
			} else if m := reRemoved.FindStringSubmatch(rest); m != nil {
				p.Kind, p.Option, p.Files = Deprecation, m[1], files(m[2])
			}
			return p, true
		}
	}
	return Problem{}, false
}

// files returns the files of NixOS's showFiles: `a' and `b'.
func files(s string) []string {
	var out []string
	for _, m := range reFile.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// parseError reads the error starting at lines[0] ("error: ...").
func parseError(lines []string) Problem {
	var msg []string
	var at *Location
	first := strings.TrimSpace(strings.TrimPrefix(lines[0], "error:"))
	if first != "" {
		msg = append(msg, first)
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "(use '--show-trace'") || strings.HasPrefix(l, "error:") {
			break
		}
		if m := atLine.FindStringSubmatch(l); m != nil {
			line, _ := strconv.Atoi(m[2])
			col, _ := strconv.Atoi(m[3])
			at = &Location{File: m[1], Line: line, Col: col}
			continue
		}
		if at != nil && (excerpt.MatchString(l) || strings.TrimSpace(l) == "") {
			continue // the source excerpt under "at"
		}
		// Nix indents continuation lines to the width of "error: ".
		msg = append(msg, strings.TrimRight(strings.TrimPrefix(l, "       "), " "))
	}
	for len(msg) > 0 && strings.TrimSpace(msg[len(msg)-1]) == "" {
		msg = msg[:len(msg)-1]
	}
	p := Problem{Kind: Other, Message: strings.Join(msg, "\n"), At: at}
	text := p.Message
	switch {
	case strings.HasPrefix(text, "Failed assertions:"):
		p.Kind = Assertion
		for _, l := range msg[1:] {
			if rest, ok := strings.CutPrefix(l, "- "); ok {
				p.Items = append(p.Items, rest)
			} else if len(p.Items) > 0 {
				p.Items[len(p.Items)-1] += "\n" + l
			}
		}
		for i := range p.Items {
			p.Items[i] = strings.TrimRight(p.Items[i], "\n ")
		}
		return p
	case match(reUndecl, text, &p.Option):
		p.Kind = UndeclaredOption
	case match(reConflict, text, &p.Option), match(reUnique, text, &p.Option), match(reNullBoth, text, &p.Option):
		p.Kind = Conflict
	case match(reType, text, &p.Option, &p.Type):
		p.Kind = WrongType
	case match(reUndefined, text, &p.Option):
		p.Kind = Undefined
		return p
	case match(reAttr, text, &p.Attr):
		p.Kind = MissingAttribute
		for _, l := range msg {
			if m := reDidYouMean.FindStringSubmatch(l); m != nil {
				for _, s := range strings.Split(strings.ReplaceAll(m[1], " or ", ", "), ",") {
					p.Suggestions = append(p.Suggestions, strings.TrimSpace(s))
				}
			}
		}
		return p
	default:
		return p
	}
	p.Defs = defs(msg)
	return p
}

// match reports whether re matches s, storing its groups in into.
func match(re *regexp.Regexp, s string, into ...*string) bool {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	for i, p := range into {
		*p = m[i+1]
	}
	return true
}

// defs reads the "- In `file': value" lines of a message; a value over
// several lines continues on lines indented by four spaces.
func defs(msg []string) []Def {
	var out []Def
	for _, l := range msg {
		if m := defLine.FindStringSubmatch(l); m != nil {
			out = append(out, Def{File: m[1], Value: m[2]})
			continue
		}
		if rest, ok := strings.CutPrefix(l, "    "); ok && len(out) > 0 {
			d := &out[len(out)-1]
			if d.Value != "" {
				d.Value += "\n"
			}
			d.Value += rest
		}
	}
	return out
}

// ListElement reads an option path that ends in the label NixOS gives
// the M-th element of the N-th definition of a list ("[definition N-entry
// M]", quoted as showOption quotes it): the list's option and the
// element's 0-based index within its definition.
func ListElement(option string) (list string, index int, ok bool) {
	i := strings.LastIndex(option, `."[definition `)
	if i < 0 || !strings.HasSuffix(option, `]"`) {
		return "", 0, false
	}
	label := option[i+len(`."[definition `) : len(option)-len(`]"`)]
	_, m, found := strings.Cut(label, "-entry ")
	if !found {
		return "", 0, false
	}
	n, err := strconv.Atoi(m)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return option[:i], n - 1, true
}

// OptionNames returns the option paths an assertion's message names: in
// `x', ‘x’ or 'x' quotes, or written bare with dots (users.users.alice.
// isSystemUser), in order of appearance.
func OptionNames(msg string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimRight(s, ".,;:")
		if strings.Contains(s, ".") && !seen[s] && !strings.ContainsAny(s, " /") {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		for _, g := range m[1:] {
			if g != "" {
				add(g)
			}
		}
	}
	for _, loc := range bare.FindAllStringIndex(msg, -1) {
		// Not a piece of a path or of a longer word.
		if loc[0] > 0 && strings.ContainsRune("/-.", rune(msg[loc[0]-1])) {
			continue
		}
		add(msg[loc[0]:loc[1]])
	}
	// A name without dots in quotes (‘fileSystems’) names a top-level
	// option.
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		for _, g := range m[1:] {
			if g != "" && !strings.ContainsAny(g, ". /") && !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

var (
	quoted = regexp.MustCompile("`([^`']+)'|‘([^’]+)’|'([^']+)'")
	bare   = regexp.MustCompile(`\b[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z0-9_-]+|"[^"]*"))+`)
)
