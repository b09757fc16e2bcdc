package rules

import (
	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// IfInsteadOfMkIf reports config = if … then … else {}.
var IfInsteadOfMkIf = &lint.Rule{
	ID:       "NM403",
	Name:     "if-instead-of-mkif",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nixos.org/manual/nixos/stable/#sec-option-definitions-delaying-conditionals",
	Doc: `report config = if cond then { … } else { }; in a module

The module system must evaluate cond before it knows which options config
defines; when cond reads config, that is infinite recursion, and in any
case the definitions vanish from the merge. mkIf cond { … } pushes the
condition down to every definition. The fix rewrites it, guarded: only for
the config attribute of a module whose function binds lib, and only when
the else branch is the empty set. optionalAttrs over config is reported
without a fix.`,
	Run: runIfInsteadOfMkIf,
}

func runIfInsteadOfMkIf(p *lint.Pass) error {
	s := moduleSet(p.File)
	if s == nil {
		return nil
	}
	r := resolution(p)
	lam := moduleLambda(p.File)
	for _, b := range s.Bindings {
		a, ok := b.(*syntax.Attr)
		if !ok || a.Path == nil || len(a.Path.Names) != 1 {
			continue
		}
		if n, _ := staticName(a.Path.Names[0]); n != "config" {
			continue
		}
		switch v := syntax.Unparen(a.Value).(type) {
		case *syntax.If:
			d := lint.Diagnostic{Pos: v.Pos(), End: v.End(), Message: "`config = if …` hides every definition behind the condition; use mkIf"}
			es, ok := syntax.Unparen(v.Else).(*syntax.AttrSet)
			libOK := lam != nil && formalNamed(lam, "lib") && libBound(r, v, lam)
			if ok && len(es.Bindings) == 0 && libOK && !p.HasComments(v.Cond) {
				text := "lib.mkIf " + paren(p, syntax.Unparen(v.Cond)) + " " + paren(p, syntax.Unparen(v.Then))
				d.Fixes = []lint.Fix{{Message: "use lib.mkIf", Kind: lint.Guarded, Edits: []lint.TextEdit{replace(p, v, text)}}}
			}
			p.Report(d)
		case *syntax.Apply:
			fn, args := call(v)
			if len(args) == 2 && isLibFn(fn, "optionalAttrs") && p.Mentions(args[0], "config") {
				p.ReportRangef(v, "`config = optionalAttrs …` on a config condition; use mkIf")
			}
		}
	}
	return nil
}

func formalNamed(l *syntax.Lambda, name string) bool {
	for _, it := range l.Formals.Items {
		if it.Name != nil && it.Name.Tok.Text == name {
			return true
		}
	}
	return false
}

// libBound reports whether lib, used in place of x, would be the module
// function's formal.
func libBound(r *Resolution, x syntax.Node, lam *syntax.Lambda) bool {
	var probe *syntax.Ident
	syntax.Inspect(x, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && probe == nil {
			if _, known := r.envOf[id]; known {
				probe = id
			}
		}
		return probe == nil
	})
	if probe == nil {
		return false
	}
	b, _ := r.Lookup(probe, "lib")
	return b != nil && b.Owner == syntax.Node(lam)
}
