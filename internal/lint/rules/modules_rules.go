package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// MkIfConstant reports mkIf true e and mkIf false e.
var MkIfConstant = &lint.Rule{
	ID:       "NM402",
	Name:     "mkif-constant",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report mkIf true e and mkIf false e

As an option definition, mkIf true e is e, and the fix writes e (safe: the
module system treats the two alike). mkIf false e defines nothing: the
whole definition is dead, and there is no fix, since what should replace it
depends on the surrounding code.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if !ok {
				continue
			}
			fn, args := call(a)
			if len(args) != 2 || !isLibFn(fn, "mkIf") {
				continue
			}
			if _, nested := p.Parent(a).(*syntax.Apply); nested {
				continue // mkIf c e x: not a plain definition
			}
			v, ok := isBoolLit(r, args[0])
			if !ok {
				continue
			}
			if !v {
				p.ReportRangef(a, "`mkIf false` defines nothing; this definition is dead")
				continue
			}
			d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`mkIf true e` is e"}
			if !hasComments(a) {
				d.Fixes = []lint.Fix{{Message: "drop mkIf true", Kind: lint.Safe, Edits: []lint.TextEdit{replace(a, p.Source(args[1]))}}}
			}
			p.Report(d)
		}
		return nil
	},
}

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
		switch v := unparen(a.Value).(type) {
		case *syntax.If:
			d := lint.Diagnostic{Pos: v.Pos(), End: v.End(), Message: "`config = if …` hides every definition behind the condition; use mkIf"}
			es, ok := unparen(v.Else).(*syntax.AttrSet)
			libOK := lam != nil && formalNamed(lam, "lib") && libBound(r, v, lam)
			if ok && len(es.Bindings) == 0 && libOK && !hasComments(v.Cond) {
				text := "lib.mkIf " + paren(p, unparen(v.Cond)) + " " + paren(p, unparen(v.Then))
				d.Fixes = []lint.Fix{{Message: "use lib.mkIf", Kind: lint.Guarded, Edits: []lint.TextEdit{replace(v, text)}}}
			}
			p.Report(d)
		case *syntax.Apply:
			fn, args := call(v)
			if len(args) == 2 && isLibFn(fn, "optionalAttrs") && mentionsConfig(args[0]) {
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

// mentionsConfig reports whether x reads config.
func mentionsConfig(x syntax.Node) bool { return mentions(x, "config") }

// MkIfWithUpdate reports // and ++ applied to mkIf, mkMerge and friends.
var MkIfWithUpdate = &lint.Rule{
	ID:       "NM404",
	Name:     "mkif-with-update",
	Severity: diag.Error,
	Requires: []*lint.Rule{Scope},
	URL:      "https://github.com/NixOS/nixpkgs/pull/72949",
	Doc: `report { … } // mkIf c { … } and [ … ] ++ mkIf c [ … ]

mkIf, mkMerge, mkForce and mkDefault return markers for the module system,
not sets or lists: // merges the marker's own attributes (_type, condition,
content) into the set, and ++ fails. The fix for // writes mkMerge [ a b ],
which the module system merges as intended; the fix for ++ mkIf c l writes
optionals c l. Both use the same prefix as the marker (lib. or none) and are
applied only when that name resolves as mkIf did.`,
	Run: runMkIfWithUpdate,
}

var markers = []string{"mkIf", "mkMerge", "mkForce", "mkDefault", "mkOverride", "mkBefore", "mkAfter", "mkOrder"}

// marker returns the marker function x applies and its prefix ("lib." or
// ""), or "".
func marker(x syntax.Expr) (name, prefix string, fn syntax.Expr) {
	f, args := call(unparen(x))
	if len(args) == 0 {
		return "", "", nil
	}
	d := dotted(unparen(f))
	for _, m := range markers {
		if d == m {
			return m, "", f
		}
		if d == "lib."+m {
			return m, "lib.", f
		}
	}
	return "", "", nil
}

// sameBinding reports whether name, written where the variable at is,
// resolves as at does.
func sameBinding(r *Resolution, at *syntax.Ident, name string) bool {
	b, w := r.Lookup(at, name)
	return b == r.Refs[at] && w == r.ViaWith[at] && (b != nil || w != nil)
}

func runMkIfWithUpdate(p *lint.Pass) error {
	r := resolution(p)
	for _, n := range p.Nodes() {
		b, ok := n.(*syntax.Binary)
		if !ok || (b.Op.Kind != syntax.UPDATE && b.Op.Kind != syntax.CONCAT) {
			continue
		}
		var m, prefix string
		var fn syntax.Expr
		var side syntax.Expr
		for _, x := range []syntax.Expr{b.X, b.Y} {
			if m, prefix, fn = marker(x); m != "" {
				side = x
				break
			}
		}
		if m == "" {
			continue
		}
		op := b.Op.Text
		d := lint.Diagnostic{Pos: b.Pos(), End: b.End(), Message: "`" + op + "` with the result of " + m + " does not merge definitions"}
		root := rootIdent(fn)
		switch {
		case hasComments(b) || root == nil:
		case b.Op.Kind == syntax.UPDATE:
			if sameBinding(r, root, rootName(prefix, "mkMerge")) {
				text := prefix + "mkMerge [ " + paren(p, unparen(b.X)) + " " + paren(p, unparen(b.Y)) + " ]"
				d.Fixes = []lint.Fix{{Message: "merge with mkMerge", Kind: lint.Safe, Edits: []lint.TextEdit{replace(b, text)}}}
			}
		case m == "mkIf" && side == b.Y && sameBinding(r, root, rootName(prefix, "optionals")):
			_, args := call(unparen(side))
			if len(args) == 2 {
				text := prefix + "optionals " + paren(p, unparen(args[0])) + " " + paren(p, unparen(args[1]))
				d.Fixes = []lint.Fix{{Message: "use optionals", Kind: lint.Safe, Edits: []lint.TextEdit{replace(side, text)}}}
			}
		}
		p.Report(d)
	}
	return nil
}

// rootName returns the variable a prefixed name starts from.
func rootName(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return strings.TrimSuffix(prefix, ".")
}

// ConfigIfSelfRecursion reports an option defined under an if on itself.
var ConfigIfSelfRecursion = &lint.Rule{
	ID:       "NM405",
	Name:     "config-if-self-recursion",
	Severity: diag.Warning,
	Doc: `report an option set under an if that reads the same option

services.foo = if config.services.foo.enable then { … } else { … }; makes
the value of services.foo depend on itself: Nix cannot know which branch
defines services.foo.enable without evaluating the if, which reads it.
This is infinite recursion; use mkIf on the definitions inside instead.
There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			e, ok := d.value.(*syntax.If)
			if !ok {
				continue
			}
			syntax.Inspect(e.Cond, func(n syntax.Node) bool {
				s, ok := n.(*syntax.Select)
				if !ok {
					return true
				}
				dp := dotted(s)
				rest, ok := strings.CutPrefix(dp, "config.")
				if !ok {
					return true
				}
				own := strings.Join(d.path, ".")
				if rest == own || strings.HasPrefix(rest, own+".") {
					p.ReportRangef(e, "`%s` is defined by an if that reads `%s`: infinite recursion; use mkIf", own, dp)
					return false
				}
				return false
			})
		}
		return nil
	},
}
