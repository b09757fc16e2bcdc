package rules

import (
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

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
identifier.

A file-level with lib; is reported at info: it is the habit of most NixOS
modules, and lib's names rarely collide with a module's own. Any other
file-level with, and every nested with, is a warning. The severity is
configurable like every rule's.`,
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
		switch {
		case r.Nested(w):
			p.ReportRangef(w.With, "`with %s;` inside another with: which set a name comes from depends on both", clipSource(p, w.X))
		case w == top:
			d := lint.Diagnostic{Pos: w.With.Pos(), End: w.Semi.End(), Message: "`with " + clipSource(p, w.X) + ";` over the whole file"}
			if fix := withToLet(p, r, w); fix != nil {
				d.Fixes = []lint.Fix{*fix}
			}
			if dotted(syntax.Unparen(w.X)) == "lib" {
				// The common module header: a habit, not a hazard.
				d = d.WithSeverity(diag.Info)
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
	for _, id := range r.UsesOf(w) {
		if id.Tok.Kind != syntax.IDENT {
			return nil
		}
		names[id.Tok.Text] = true
	}
	if len(names) == 0 {
		return nil // NS306
	}
	if p.HasComments(w.X) {
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
		Edits: []lint.TextEdit{replaceRange(p, w.Pos(), w.Semi.End(), text)},
		Pos:   w.Pos(), End: w.End()}
}
