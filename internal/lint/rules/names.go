package rules

import (
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UndefinedVariable reports names bound nowhere.
var UndefinedVariable = &lint.Rule{
	ID:       "NS307",
	Name:     "undefined-variable",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	Doc: `report a variable that no scope binds and no with can supply

Nix rejects the file before evaluating anything. A suggested fix offers the
closest name in scope when one is a small edit away, or builtins.x when x
is a builtin that needs the prefix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, id := range r.Undefined {
			name := identName(id)
			d := lint.Diagnostic{Pos: id.Pos(), End: id.End(), Message: "undefined variable `" + name + "`"}
			switch {
			case primops[name]:
				d.Fixes = []lint.Fix{{Message: "use builtins." + name, Kind: lint.Suggested, Edits: []lint.TextEdit{replace(id, "builtins."+name)}}}
			default:
				if s := closest(name, r.visible(id)); s != "" {
					d.Message += "; did you mean `" + s + "`?"
					d.Fixes = []lint.Fix{{Message: "use " + s, Kind: lint.Suggested, Edits: []lint.TextEdit{replace(id, s)}}}
				}
			}
			p.Report(d)
		}
		return nil
	},
}

// visible returns the names in scope where the variable at is.
func (r *Resolution) visible(at *syntax.Ident) []string {
	var out []string
	for e := r.envOf[at]; e != nil; e = e.parent {
		for n := range e.names {
			out = append(out, n)
		}
	}
	for n := range primops {
		if inPrelude(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// closest returns the candidate within edit distance 2 of name (1 for
// short names), nearest first, or "".
func closest(name string, cands []string) string {
	best, bestD := "", 3
	if len(name) <= 3 {
		bestD = 2
	}
	for _, c := range cands {
		if c == name {
			continue
		}
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TopLevelWith reports with over a whole file, and nested with.
var TopLevelWith = &lint.Rule{
	ID:       "NS308",
	Name:     "top-level-with",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/guides/best-practices#with-scopes",
	Doc: `report with lib; or with pkgs; over a whole file, and with inside with

A with over a whole file hides where every name comes from, defeats static
checks (a typo is only found at evaluation) and, nested, makes the meaning
of a name depend on attributes of several sets. The fix rewrites a
file-level with e; into let inherit (e) a b …; in, naming exactly the names
the body takes from it. It is guarded: applied only when no other with
encloses or is nested in the body (which could supply those names instead),
when e itself uses none of those names, and when every name is a plain
identifier.`,
	Run: runTopLevelWith,
}

// fileBody returns the expression a file's functions and lets lead to.
func fileBody(f *syntax.File) syntax.Expr {
	x := f.Expr
	for {
		switch y := x.(type) {
		case *syntax.Lambda:
			x = y.Body
		case *syntax.Paren:
			x = y.X
		default:
			return x
		}
	}
}

func runTopLevelWith(p *lint.Pass) error {
	r := resolution(p)
	top, _ := fileBody(p.File).(*syntax.With)
	for _, w := range r.Withs {
		nested := false
		for q := p.Parent(w); q != nil; q = p.Parent(q) {
			if _, ok := q.(*syntax.With); ok {
				nested = true
				break
			}
		}
		switch {
		case nested:
			p.ReportRangef(w.With, "`with %s;` inside another with: which set a name comes from depends on both", clip(p.Source(w.X)))
		case w == top:
			d := lint.Diagnostic{Pos: w.With.Pos(), End: w.Semi.End(), Message: "`with " + clip(p.Source(w.X)) + ";` over the whole file"}
			if fix := withToLet(p, r, w); fix != nil {
				d.Fixes = []lint.Fix{*fix}
			}
			p.Report(d)
		}
	}
	return nil
}

func withToLet(p *lint.Pass, r *Resolution, w *syntax.With) *lint.Fix {
	if w.Semi == nil || w.Body == nil {
		return nil
	}
	for _, o := range r.Withs {
		if o != w && within(w.Body, o.Pos()) {
			return nil
		}
	}
	names := map[string]bool{}
	for _, id := range r.WithUses[w] {
		if id.Tok.Kind != syntax.IDENT {
			return nil
		}
		names[id.Tok.Text] = true
	}
	if len(names) == 0 {
		return nil // NS306
	}
	if hasComments(w.X) {
		return nil
	}
	clash := false
	syntax.Inspect(w.X, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && names[identName(id)] {
			clash = true
		}
		return !clash
	})
	if clash {
		return nil
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	text := "let\n  inherit (" + p.Source(w.X) + ")\n    " + strings.Join(list, "\n    ") + "\n    ;\nin"
	return &lint.Fix{Message: "replace the with by a let that inherits the names used", Kind: lint.Guarded,
		Edits: []lint.TextEdit{{Pos: w.Pos(), End: w.Semi.End(), NewText: text}},
		Pos:   w.Pos(), End: w.End()}
}

// SelfReference reports a = a; in let and rec.
var SelfReference = &lint.Rule{
	ID:       "NS310",
	Name:     "self-reference",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/guides/best-practices#recursive-attribute-set-rec",
	Doc: `report a = a; (or a = a.b;) in a let or rec set: infinite recursion

In let and rec the name on the right is the binding itself, not an outer
a, so evaluating it loops forever. This is the trap of turning inherit a;
into a = a; inside let or rec. When an outer a exists, the suggested fix
writes inherit a;, which reads the outer one.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != LetBinding && b.Kind != RecBinding && b.Kind != LegacyLetBinding {
				continue
			}
			for _, a := range b.Attrs {
				if len(a.Path.Names) != 1 {
					continue
				}
				root := rootIdent(a.Value)
				if root == nil || r.Refs[root] != b {
					continue
				}
				d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`" + b.Name + "` is defined as itself: infinite recursion"}
				if unparen(a.Value) == syntax.Expr(root) && r.outer(root, b) {
					d.Fixes = []lint.Fix{{Message: "inherit the outer " + b.Name, Kind: lint.Suggested,
						Edits: []lint.TextEdit{replace(a, "inherit "+b.Name+";")}}}
				}
				p.Report(d)
			}
		}
		return nil
	},
}

// outer reports whether a binding of b's name exists outside the scope
// that binds b, seen from the variable at.
func (r *Resolution) outer(at *syntax.Ident, b *Binding) bool {
	e := r.envOf[at]
	for ; e != nil; e = e.parent {
		if e.names[b.Name] == b {
			break
		}
	}
	if e == nil {
		return false
	}
	ob, _ := r.lookup(e.parent, b.Name)
	return ob != nil && ob.Kind != BuiltinBinding
}

// MergeRecAttrset reports one attribute defined in parts, some rec.
var MergeRecAttrset = &lint.Rule{
	ID:       "NS312",
	Name:     "merge-rec-attrset",
	Severity: diag.Warning,
	Doc: `report one attribute defined in parts of which some are rec and some not

{ a = rec { x = 1; y = x; }; a.z = x; } merges into one set a, but whether
its names see each other depends on which part comes first: Nix keeps the
rec-ness of the first definition. Write the attribute in one place. There
is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			var bs []syntax.Binding
			switch n := n.(type) {
			case *syntax.AttrSet:
				bs = n.Bindings
			case *syntax.Let:
				bs = n.Bindings
			default:
				continue
			}
			type part struct {
				rec bool
				at  syntax.Node
			}
			parts := map[string][]part{}
			var order []string
			for _, b := range bs {
				a, ok := b.(*syntax.Attr)
				if !ok || a.Path == nil || len(a.Path.Names) == 0 {
					continue
				}
				name, ok := staticName(a.Path.Names[0])
				if !ok {
					continue
				}
				pt := part{at: a}
				if len(a.Path.Names) == 1 {
					s, ok := a.Value.(*syntax.AttrSet)
					if !ok {
						continue
					}
					pt.rec = s.Rec != nil
				}
				if parts[name] == nil {
					order = append(order, name)
				}
				parts[name] = append(parts[name], pt)
			}
			for _, name := range order {
				ps := parts[name]
				for _, q := range ps[1:] {
					if q.rec != ps[0].rec {
						p.ReportRangef(q.at, "`%s` is merged from rec and non-rec parts; Nix keeps the rec-ness of the first", name)
						break
					}
				}
			}
		}
		return nil
	},
}
