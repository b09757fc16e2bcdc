package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// callPackageHints are formal names that mark a package file made for
// callPackage, whose formals are its interface.
var callPackageHints = setOf(`stdenv stdenvNoCC fetchurl fetchFromGitHub fetchgit buildGoModule
buildPythonPackage buildPythonApplication rustPlatform mkDerivation callPackage python3Packages
buildNpmPackage makeWrapper`)

// UnusedFormal reports { a, b, ... }: with b unused.
var UnusedFormal = &lint.Rule{
	ID:       "NS303",
	Name:     "unused-formal",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report a function's formal argument that is never used

{ a, b, ... }: a does not use b. The fix removes b, guarded twice: only
when the formals have "...", since without it callers that pass b would
fail; and never in a callPackage-style file (formals such as stdenv or
fetchurl), where the formals are the package's interface for override and
callPackage's automatic arguments. Defaults that use b count as uses.`,
	Run: runUnusedFormal,
}

func runUnusedFormal(p *lint.Pass) error {
	r := resolution(p)
	// What the fix needs of a function's formals is read once per
	// function, not once per unused formal: a function of n formals would
	// cost n².
	type formals struct {
		fixable bool
		index   map[*syntax.Formal]int
	}
	seen := map[*syntax.Lambda]*formals{}
	for _, b := range r.Bindings {
		if b.Kind != FormalBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
			continue
		}
		l := b.Owner.(*syntax.Lambda)
		fs := seen[l]
		if fs == nil {
			fs = &formals{fixable: hasEllipsis(l.Formals) && !isCallPackage(l)}
			if fs.fixable {
				fs.index = make(map[*syntax.Formal]int, len(l.Formals.Items))
				for i, it := range l.Formals.Items {
					fs.index[it] = i
				}
			}
			seen[l] = fs
		}
		d := lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused formal argument `" + b.Name + "`"}
		if i, ok := fs.index[b.Formal]; ok && fs.fixable {
			if e := removeFormal(p, l.Formals, i); e != nil {
				d.Fixes = []lint.Fix{{Message: "remove the formal", Kind: lint.Guarded, Edits: e}}
			}
		}
		p.Report(d)
	}
	return nil
}

func hasEllipsis(f *syntax.Formals) bool {
	for _, it := range f.Items {
		if it.Ellipsis != nil {
			return true
		}
	}
	return false
}

func isCallPackage(l *syntax.Lambda) bool {
	for _, it := range l.Formals.Items {
		if it.Name != nil && callPackageHints[it.Name.Tok.Text] {
			return true
		}
	}
	return false
}

// removeFormal returns the edit that removes the i-th of the formals fs
// with its comma, or nil.
func removeFormal(p *lint.Pass, fs *syntax.Formals, i int) []lint.TextEdit {
	f := fs.Items[i]
	if p.HasComments(f) {
		return nil
	}
	if f.Comma != nil {
		e := removal(p, f)
		if f.Comma.End() > e.End {
			e.End = f.Comma.End()
		}
		return []lint.TextEdit{e}
	}
	if i > 0 && fs.Items[i-1].Comma != nil {
		return []lint.TextEdit{{Pos: fs.Items[i-1].Comma.Pos(), End: f.End()}}
	}
	return nil
}
