package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ifdReaders are the builtins that read a path at evaluation time.
var ifdReaders = []string{"import", "readFile", "readDir", "pathExists", "readFileType", "hashFile", "path", "filterSource", "scopedImport"}

// drvMakers are functions whose result is a derivation.
var drvMakers = setOf(`mkDerivation runCommand runCommandLocal runCommandCC writeText writeTextFile
writeScript writeShellScript writeShellScriptBin fetchFromGitHub fetchFromGitLab fetchgit fetchzip
fetchurl fetchpatch callPackage symlinkJoin linkFarm`)

// ImportFromDerivation reports evaluation-time reads of build outputs.
var ImportFromDerivation = &lint.Rule{
	ID:       "NR503",
	Name:     "import-from-derivation",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/manual/nix/latest/language/import-from-derivation",
	Doc: `report import, readFile, readDir and friends applied to a derivation

Reading a build output while evaluating (import-from-derivation) makes
evaluation wait for a build, serialises what could run in parallel, and is
refused by Hydra and by nix flake check with allow-import-from-derivation
off. Flagged when the argument is a pkgs.x attribute, a call of a
derivation-making function (mkDerivation, runCommand, writeText,
fetchFromGitHub, …) or a string interpolating one. There is no fix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if !ok {
				continue
			}
			for _, name := range ifdReaders {
				if builtinRef(r, a.Fn, name) && derivationLike(a.Arg) {
					p.ReportRangef(a, "%s of a derivation's output builds it during evaluation (import from derivation)", name)
					break
				}
			}
		}
		return nil
	},
}

func derivationLike(x syntax.Expr) bool {
	x = syntax.Unparen(x)
	switch x := x.(type) {
	case *syntax.Select:
		return strings.HasPrefix(dotted(x), "pkgs.")
	case *syntax.Apply:
		d := dotted(syntax.Unparen(callee(x)))
		if strings.HasPrefix(d, "builtins.") {
			return false
		}
		return drvMakers[lastName(d)] || strings.HasPrefix(d, "pkgs.")
	case *syntax.String:
		for _, pt := range x.Parts {
			if in, ok := pt.(*syntax.Interpolation); ok && derivationLike(in.X) {
				return true
			}
		}
	case *syntax.Binary:
		return x.Op.Kind == syntax.PLUS && derivationLike(x.X)
	}
	return false
}
