package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ImpureNixpkgsImport reports import nixpkgs {} without config and overlays.
var ImpureNixpkgsImport = &lint.Rule{
	ID:       "NR502",
	Name:     "impure-nixpkgs-import",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/guides/best-practices#config",
	Doc: `report import <nixpkgs> { } without config and overlays

Without them nixpkgs reads ~/.config/nixpkgs/config.nix, overlays.nix and
$NIXPKGS_CONFIG of whoever evaluates, so a build depends on the user's
home directory. The fix adds config = { }; overlays = [ ]; (whichever is
missing); it changes only what comes from the environment, which is the
point.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if !ok {
				continue
			}
			in, ok := a.Fn.(*syntax.Apply)
			if !ok || !builtinRef(r, in.Fn, "import") || !isNixpkgs(in.Arg) {
				continue
			}
			set, ok := syntax.Unparen(a.Arg).(*syntax.AttrSet)
			if !ok || set.Rec != nil || set.Close == nil {
				continue
			}
			has := map[string]bool{}
			for _, b := range set.Bindings {
				switch b := b.(type) {
				case *syntax.Attr:
					if b.Path != nil && len(b.Path.Names) > 0 {
						n, _ := staticName(b.Path.Names[0])
						has[n] = true
					}
				case *syntax.Inherit:
					for _, nm := range b.Names {
						n, _ := staticName(nm)
						has[n] = true
					}
				}
			}
			var add []string
			if !has["config"] {
				add = append(add, "config = { };")
			}
			if !has["overlays"] {
				add = append(add, "overlays = [ ];")
			}
			if len(add) == 0 {
				continue
			}
			text := strings.Join(add, " ")
			var e lint.TextEdit
			if len(set.Bindings) == 0 {
				e = lint.TextEdit{Pos: set.Open.Pos(), End: set.Close.End(), NewText: "{ " + text + " }"}
			} else {
				last := set.Bindings[len(set.Bindings)-1]
				e = lint.TextEdit{Pos: last.End(), End: last.End(), NewText: " " + text}
			}
			p.Report(lint.Diagnostic{Pos: a.Pos(), End: a.End(),
				Message: "nixpkgs imported without " + strings.Join(missing(has), " and ") + ": it reads the user's environment",
				Fixes:   []lint.Fix{{Message: "pass empty config and overlays", Kind: lint.Safe, Edits: []lint.TextEdit{e}}}})
		}
		return nil
	},
}

func missing(has map[string]bool) []string {
	var out []string
	for _, k := range []string{"config", "overlays"} {
		if !has[k] {
			out = append(out, k)
		}
	}
	return out
}

// isNixpkgs reports whether x names nixpkgs: <nixpkgs>, nixpkgs or
// inputs.nixpkgs.
func isNixpkgs(x syntax.Expr) bool {
	x = syntax.Unparen(x)
	if s, ok := x.(*syntax.SearchPath); ok {
		return s.Tok.Text == "<nixpkgs>"
	}
	return lastName(dotted(x)) == "nixpkgs"
}
