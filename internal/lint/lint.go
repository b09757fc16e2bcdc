package lint

import (
	"fmt"
	"regexp"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A Rule describes one check: what it flags, how bad that is by default,
// and the function that finds it. A Rule is immutable once built and safe
// for concurrent use by any number of passes.
//
// Exactly one of Run and RunFleet is set, except for a rule that only
// computes a Result for others (Requires), which sets Run and reports
// nothing.
type Rule struct {
	// ID is the stable catalogue identifier, such as "NS301": two
	// upper-case letters and three digits.
	ID string
	// Name is the catalogue name in kebab case, such as
	// "unused-let-binding".
	Name string
	// Doc is the documentation. Its first line is a lower-case summary
	// without a final period; the rest says what is flagged, why, what
	// the fix does and when it is withheld.
	Doc string
	// URL points to further reading, if any.
	URL string
	// Severity is the default severity of the rule's findings.
	Severity diag.Severity
	// Off marks a rule that runs only when configured on.
	Off bool
	// Requires are rules whose Result this rule reads via Pass.ResultOf.
	Requires []*Rule
	// Run checks one Nix file.
	Run func(*Pass) error
	// RunFleet checks the merged values of a whole fleet.
	RunFleet func(*FleetPass) error
}

// String returns the rule's ID.
func (r *Rule) String() string { return r.ID }

// Summary returns the first line of the rule's Doc.
func (r *Rule) Summary() string {
	s, _, _ := strings.Cut(r.Doc, "\n")
	return s
}

// A Pass is one rule running over one file. A Pass is used by one
// goroutine at a time.
type Pass struct {
	// Rule is the rule being run.
	Rule *Rule
	// File is the parsed file. Rules must not modify it.
	File *syntax.File
	// ParseErrors are the problems the parser reported for File.
	ParseErrors diag.List
	// Bound are the names bound around the whole file (File.Bound).
	Bound []string
	// Report records a diagnostic.
	Report func(Diagnostic)
	// ResultOf holds the Result of every rule in Rule.Requires.
	ResultOf map[*Rule]any
	// Result is set by a rule that computes something for the rules that
	// require it.
	Result any

	file *File
}

// Reportf reports a finding over [pos, end).
func (p *Pass) Reportf(pos, end syntax.Pos, format string, args ...any) {
	p.Report(Diagnostic{Pos: pos, End: end, Message: fmt.Sprintf(format, args...)})
}

// ReportRangef reports a finding over the range of n.
func (p *Pass) ReportRangef(n syntax.Node, format string, args ...any) {
	p.Report(Diagnostic{Pos: n.Pos(), End: n.End(), Message: fmt.Sprintf(format, args...)})
}

// A FixKind says when a fix may be applied without asking.
type FixKind int

// The fix kinds.
const (
	// Safe fixes never change the meaning of the file.
	Safe FixKind = iota
	// Guarded fixes are offered only after the rule proved the semantic
	// condition its Doc names; they are applied like safe ones.
	Guarded
	// Suggested fixes may change meaning: shown, never applied.
	Suggested
)

// String returns "safe", "guarded" or "suggested".
func (k FixKind) String() string {
	switch k {
	case Safe:
		return "safe"
	case Guarded:
		return "guarded"
	}
	return "suggested"
}

// A Diagnostic is one finding. For a source rule Pos and End are offsets
// in Pass.File; for a fleet rule they are unset and Host, Path and Range
// say where the finding is.
type Diagnostic struct {
	Pos, End syntax.Pos
	// Rule is the rule that reported it; the runner sets it.
	Rule *Rule
	// Severity is the rule's unless the rule set one with WithSeverity; the
	// runner fills it in.
	Severity diag.Severity
	// Message says what is wrong, in one line.
	Message string
	// Fixes are alternative ways to fix it; the first applicable one is
	// what FixSource applies.
	Fixes []Fix
	// Range is the file, line and column of [Pos, End); the runner fills
	// it in for source rules, and fleet rules give it directly.
	Range diag.Range
	// Host and Path name the value a fleet rule is about.
	Host string
	Path []string
	// Related are other places that explain the finding.
	Related []diag.Related

	sevSet bool
}

// WithSeverity returns d with severity s, overriding the rule's default.
func (d Diagnostic) WithSeverity(s diag.Severity) Diagnostic {
	d.Severity, d.sevSet = s, true
	return d
}

// A Fix is one way to fix a finding: a verb phrase and the text edits that
// do it. Edits of one Fix never overlap.
type Fix struct {
	Message string
	Kind    FixKind
	Edits   []TextEdit
	// Pos and End, when set, are the region whose meaning the fix
	// changes beyond its edits (a with turned into a let rebinds names in
	// the whole body). No other fix touching the region is applied in the
	// same pass; it is reconsidered on the next.
	Pos, End syntax.Pos
}

// Applicable reports whether FixSource would apply f without asking.
func (f Fix) Applicable() bool { return f.Kind != Suggested }

// A TextEdit replaces the bytes [Pos, End) of the file with NewText; Pos ==
// End inserts.
type TextEdit struct {
	Pos, End syntax.Pos
	NewText  string
}

var (
	idRx   = regexp.MustCompile(`^[A-Z]{2}[0-9]{2,3}$`)
	nameRx = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
)

// Validate checks that rules are well formed: unique IDs and names of the
// catalogue's shapes, a Doc whose first line is lower-case without a
// final period, exactly one run function, and an acyclic Requires graph.
func Validate(rules []*Rule) error {
	var errs []string
	ids := map[string]bool{}
	names := map[string]bool{}
	state := map[*Rule]int{} // 1 visiting, 2 done
	var visit func(r *Rule) bool
	visit = func(r *Rule) bool {
		switch state[r] {
		case 1:
			return false
		case 2:
			return true
		}
		state[r] = 1
		for _, q := range r.Requires {
			if !visit(q) {
				errs = append(errs, fmt.Sprintf("%s: cycle in Requires through %s", r.ID, q.ID))
				return false
			}
		}
		state[r] = 2
		return true
	}
	for _, r := range rules {
		if r == nil {
			errs = append(errs, "nil rule")
			continue
		}
		if !idRx.MatchString(r.ID) {
			errs = append(errs, fmt.Sprintf("rule %q: ID must be two upper-case letters and two or three digits", r.ID))
		}
		if !nameRx.MatchString(r.Name) {
			errs = append(errs, fmt.Sprintf("%s: name %q must be lower-case words joined by dashes", r.ID, r.Name))
		}
		if ids[r.ID] {
			errs = append(errs, fmt.Sprintf("%s: duplicate ID", r.ID))
		}
		if names[r.Name] {
			errs = append(errs, fmt.Sprintf("%s: duplicate name %q", r.ID, r.Name))
		}
		ids[r.ID], names[r.Name] = true, true
		first := r.Summary()
		switch {
		case first == "":
			errs = append(errs, fmt.Sprintf("%s: empty Doc", r.ID))
		case strings.ToLower(first[:1]) != first[:1]:
			errs = append(errs, fmt.Sprintf("%s: Doc must start in lower case", r.ID))
		case strings.HasSuffix(first, "."):
			errs = append(errs, fmt.Sprintf("%s: first line of Doc must not end with a period", r.ID))
		}
		if (r.Run == nil) == (r.RunFleet == nil) {
			errs = append(errs, fmt.Sprintf("%s: exactly one of Run and RunFleet must be set", r.ID))
		}
		if r.RunFleet != nil && len(r.Requires) > 0 {
			errs = append(errs, fmt.Sprintf("%s: fleet rules cannot require source rules", r.ID))
		}
		visit(r)
	}
	if len(errs) > 0 {
		return fmt.Errorf("lint: invalid rules:\n\t%s", strings.Join(errs, "\n\t"))
	}
	return nil
}

// Lookup returns the rule of rules whose ID or name is s, ignoring case,
// or nil.
func Lookup(rules []*Rule, s string) *Rule {
	for _, r := range rules {
		if strings.EqualFold(r.ID, s) || strings.EqualFold(r.Name, s) {
			return r
		}
	}
	return nil
}
