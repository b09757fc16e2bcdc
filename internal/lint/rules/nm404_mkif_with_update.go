package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

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
	f, args := call(syntax.Unparen(x))
	if len(args) == 0 {
		return "", "", nil
	}
	d := dotted(syntax.Unparen(f))
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
		case p.HasComments(b) || root == nil:
		case b.Op.Kind == syntax.UPDATE:
			if sameBinding(r, root, rootName(prefix, "mkMerge")) {
				text := prefix + "mkMerge [ " + paren(p, syntax.Unparen(b.X)) + " " + paren(p, syntax.Unparen(b.Y)) + " ]"
				d.Fixes = []lint.Fix{{Message: "merge with mkMerge", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, b, text)}}}
			}
		case m == "mkIf" && side == b.Y && sameBinding(r, root, rootName(prefix, "optionals")):
			_, args := call(syntax.Unparen(side))
			if len(args) == 2 {
				text := prefix + "optionals " + paren(p, syntax.Unparen(args[0])) + " " + paren(p, syntax.Unparen(args[1]))
				d.Fixes = []lint.Fix{{Message: "use optionals", Kind: lint.Safe, Edits: []lint.TextEdit{replace(p, side, text)}}}
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
