package lint

import (
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A File is a Nix file ready to lint: its tree and what the parser
// reported. The zero File is not usable; use Parse.
type File struct {
	Syntax *syntax.File
	Errors diag.List
	// Bound are names the file's surroundings bind around it, such as
	// the module arguments around a raw Nix expression written in a
	// fleet value; nil for a file on disk.
	Bound []string

	nodes   []syntax.Node
	parents map[syntax.Node]syntax.Node
	supp    *suppressions
	// comments are the starts of the file's comments, and idents the
	// starts of its identifier tokens by name, both in source order;
	// built on first use.
	comments []syntax.Pos
	idents   map[string][]syntax.Pos
}

// Parse parses src, the contents of the Nix file name, for linting.
func Parse(name string, src []byte) *File {
	f, errs := syntax.Parse(name, src)
	return &File{Syntax: f, Errors: errs}
}

// ParseExpr parses src, a Nix expression that will be placed where the
// names bound are defined (a raw Nix expression in a fleet value sees the
// module arguments), for linting: those names are not undefined.
func ParseExpr(name string, src []byte, bound ...string) *File {
	f, errs := syntax.ParseIn(name, src, bound...)
	return &File{Syntax: f, Errors: errs, Bound: bound}
}

// Nodes returns every node of the file (tokens excluded) in depth-first
// source order. It is computed once and shared by all passes over the
// file; callers must not modify it.
func (p *Pass) Nodes() []syntax.Node { return p.file.preorder() }

// Parent returns the node directly containing n, or nil for the file.
func (p *Pass) Parent(n syntax.Node) syntax.Node {
	f := p.file
	if f.parents == nil {
		f.parents = make(map[syntax.Node]syntax.Node, len(f.preorder()))
		var stack []syntax.Node
		syntax.Walk(visitFunc(func(n syntax.Node) {
			if n == nil {
				stack = stack[:len(stack)-1]
				return
			}
			if len(stack) > 0 {
				f.parents[n] = stack[len(stack)-1]
			}
			stack = append(stack, n)
		}), f.Syntax)
	}
	return f.parents[n]
}

type visitFunc func(syntax.Node)

func (v visitFunc) Visit(n syntax.Node) syntax.Visitor {
	v(n)
	return v
}

func (f *File) preorder() []syntax.Node {
	if f.nodes == nil {
		f.nodes = make([]syntax.Node, 0, len(f.Syntax.Src)/4)
		syntax.Inspect(f.Syntax, func(n syntax.Node) bool {
			f.nodes = append(f.nodes, n)
			return true
		})
	}
	return f.nodes
}

// index records the positions of the file's comments and identifiers.
func (f *File) index() {
	if f.idents != nil {
		return
	}
	f.idents = map[string][]syntax.Pos{}
	syntax.Tokens(f.Syntax, func(t *syntax.Token) {
		for i := range t.Leading {
			if k := t.Leading[i].Kind; k == syntax.LINECOMMENT || k == syntax.BLOCKCOMMENT {
				f.comments = append(f.comments, t.Leading[i].Start)
			}
		}
		if t.Kind == syntax.IDENT {
			f.idents[t.Text] = append(f.idents[t.Text], t.Start)
		}
	})
}

// within reports whether any of the sorted positions ps lies in (pos,
// end).
func within(ps []syntax.Pos, pos, end syntax.Pos) bool {
	i := sort.Search(len(ps), func(i int) bool { return ps[i] > pos })
	return i < len(ps) && ps[i] < end
}

// HasComments reports whether a comment lies inside n: before any of its
// tokens but the first. It costs the same for a node of any size.
func (p *Pass) HasComments(n syntax.Node) bool {
	p.file.index()
	return within(p.file.comments, n.Pos(), n.End())
}

// Mentions reports whether an identifier token of n is name, whether a
// variable or an attribute name.
func (p *Pass) Mentions(n syntax.Node, name string) bool {
	p.file.index()
	return within(p.file.idents[name], n.Pos()-1, n.End())
}

// Text returns the source text of [pos, end).
func (p *Pass) Text(pos, end syntax.Pos) string {
	return string(p.File.Src[pos.Offset():end.Offset()])
}

// Source returns the source text of n, without its leading trivia.
func (p *Pass) Source(n syntax.Node) string { return p.Text(n.Pos(), n.End()) }

// Run runs rules, and the rules they require, over files and returns the
// findings that are not suppressed, sorted by file, position and rule.
// Rules that only compute results (no findings) may be listed or not.
// Run is deterministic and does all its work on the calling goroutine.
func Run(rules []*Rule, files []*File) []Diagnostic {
	order := closure(rules)
	var out []Diagnostic
	for _, f := range files {
		out = append(out, runFile(order, f)...)
	}
	sortDiags(out)
	return out
}

// RunFile is Run for one file, its findings unsorted: files may be
// linted one at a time, on several goroutines at once, and dropped as
// soon as they are, their findings sorted together by Sort.
func RunFile(rules []*Rule, f *File) []Diagnostic {
	return runFile(closure(rules), f)
}

// Sort sorts findings as Run does: by file, position and rule.
func Sort(ds []Diagnostic) { sortDiags(ds) }

// closure returns rules and everything they require, requirements first.
func closure(rules []*Rule) []*Rule {
	var order []*Rule
	seen := map[*Rule]bool{}
	var add func(r *Rule)
	add = func(r *Rule) {
		if seen[r] || r.Run == nil {
			return
		}
		seen[r] = true
		for _, q := range r.Requires {
			add(q)
		}
		order = append(order, r)
	}
	for _, r := range rules {
		add(r)
	}
	return order
}

func runFile(order []*Rule, f *File) []Diagnostic {
	results := map[*Rule]any{}
	if f.supp == nil {
		f.supp = parseSuppressions(f.Syntax)
	}
	var out []Diagnostic
	for _, r := range order {
		pass := &Pass{Rule: r, File: f.Syntax, ParseErrors: f.Errors, Bound: f.Bound, ResultOf: map[*Rule]any{}, file: f}
		for _, q := range r.Requires {
			pass.ResultOf[q] = results[q]
		}
		pass.Report = func(d Diagnostic) {
			d.Rule = r
			if !d.sevSet {
				d.Severity = r.Severity
			}
			d.Range = diag.Range{File: f.Syntax.Name, Start: f.Syntax.Position(d.Pos), End: f.Syntax.Position(d.End)}
			if f.supp.suppressed(r, d.Range.Start.Line) {
				return
			}
			out = append(out, d)
		}
		if err := r.Run(pass); err != nil {
			out = append(out, Diagnostic{
				Rule: r, Severity: diag.Error, Message: "rule failed: " + err.Error(),
				Range: diag.Range{File: f.Syntax.Name},
			})
		}
		results[r] = pass.Result
	}
	return out
}

func sortDiags(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Range.File != b.Range.File {
			return a.Range.File < b.Range.File
		}
		if a.Range.Start.Offset != b.Range.Start.Offset {
			return a.Range.Start.Offset < b.Range.Start.Offset
		}
		if a.Range.Start.Line != b.Range.Start.Line {
			return a.Range.Start.Line < b.Range.Start.Line
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Rule.ID < b.Rule.ID
	})
}

// A suppression is one "# fleet: ignore" comment.
type suppression struct {
	line   int // the comment's line
	file   bool
	rules  []string
	reason string
	pos    syntax.Pos
	end    syntax.Pos
}

type suppressions struct {
	list []suppression
}

const ignorePrefix = "fleet:"

// parseSuppressions finds the suppression comments of f.
func parseSuppressions(f *syntax.File) *suppressions {
	s := &suppressions{}
	scan := func(t *syntax.Token) {
		for i := range t.Leading {
			c := &t.Leading[i]
			if c.Kind != syntax.LINECOMMENT && c.Kind != syntax.BLOCKCOMMENT {
				continue
			}
			if sp, ok := parseIgnore(c.Text); ok {
				sp.pos, sp.end = c.Start, c.End()
				sp.line = f.Position(c.Start).Line
				s.list = append(s.list, sp)
			}
		}
	}
	syntax.Tokens(f, scan)
	return s
}

// parseIgnore reads "# fleet: ignore[-file] R1, R2: reason".
func parseIgnore(text string) (suppression, bool) {
	t := strings.TrimPrefix(text, "#")
	t = strings.TrimPrefix(t, "/*")
	t = strings.TrimSuffix(t, "*/")
	t = strings.TrimSpace(t)
	rest, ok := strings.CutPrefix(t, ignorePrefix)
	if !ok {
		return suppression{}, false
	}
	rest = strings.TrimSpace(rest)
	var sp suppression
	switch {
	case strings.HasPrefix(rest, "ignore-file"):
		sp.file = true
		rest = rest[len("ignore-file"):]
	case strings.HasPrefix(rest, "ignore"):
		rest = rest[len("ignore"):]
	default:
		return suppression{}, false
	}
	names, reason, _ := strings.Cut(rest, ":")
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			sp.rules = append(sp.rules, n)
		}
	}
	sp.reason = strings.TrimSpace(reason)
	return sp, true
}

func (s *suppressions) suppressed(r *Rule, line int) bool {
	for _, sp := range s.list {
		if sp.reason == "" || !(sp.file || sp.line == line || sp.line == line-1) {
			continue
		}
		for _, n := range sp.rules {
			if strings.EqualFold(n, r.ID) || strings.EqualFold(n, r.Name) {
				return true
			}
		}
	}
	return false
}

// BadSuppression reports suppression comments that suppress nothing
// because they lack a reason or a rule.
var BadSuppression = &Rule{
	ID:       "NL000",
	Name:     "bad-suppression",
	Severity: diag.Warning,
	Doc: `report fleet: ignore comments without a rule or a reason

A finding is suppressed by "# fleet: ignore RULE: reason" on its line or
the line above, or by "# fleet: ignore-file RULE: reason" anywhere in the
file. RULE is an ID or a name (several may be separated by commas). The
reason is required so that the next reader knows why; a comment without
one suppresses nothing and is reported here.`,
	Run: func(p *Pass) error {
		for _, sp := range p.file.supp.list {
			switch {
			case len(sp.rules) == 0:
				p.Reportf(sp.pos, sp.end, "suppression names no rule")
			case sp.reason == "":
				p.Reportf(sp.pos, sp.end, "suppression of %s has no reason; write \"# fleet: ignore %s: why\"", strings.Join(sp.rules, ", "), strings.Join(sp.rules, ", "))
			}
		}
		return nil
	},
}
