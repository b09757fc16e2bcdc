package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// LookupPath reports <nixpkgs> and other search paths.
var LookupPath = &lint.Rule{
	ID:       "NR501",
	Name:     "lookup-path",
	Severity: diag.Warning,
	URL:      "https://nix.dev/guides/best-practices#search-path",
	Doc: `report lookup paths such as <nixpkgs>

<nixpkgs> means whatever $NIX_PATH says on the machine that evaluates, so
the same file builds different systems on different machines, and it fails
in pure evaluation. Pin the source (a flake input, or fetchTarball with a
hash) and pass it in. There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			if s, ok := n.(*syntax.SearchPath); ok {
				if a, isApp := p.Parent(s).(*syntax.Apply); isApp && a.Fn.End() == s.Pos() {
					continue // NL106: a<b>c
				}
				p.ReportRangef(s, "lookup path %s depends on $NIX_PATH", s.Tok.Text)
			}
		}
		return nil
	},
}

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
			set, ok := unparen(a.Arg).(*syntax.AttrSet)
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
	x = unparen(x)
	if s, ok := x.(*syntax.SearchPath); ok {
		return s.Tok.Text == "<nixpkgs>"
	}
	return lastName(dotted(x)) == "nixpkgs"
}

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
	x = unparen(x)
	switch x := x.(type) {
	case *syntax.Select:
		return strings.HasPrefix(dotted(x), "pkgs.")
	case *syntax.Apply:
		fn, _ := call(x)
		d := dotted(unparen(fn))
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

// UnpinnedFetch reports builtin fetchers without a hash or revision.
var UnpinnedFetch = &lint.Rule{
	ID:       "NR504",
	Name:     "unpinned-fetch",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	URL:      "https://nix.dev/guides/best-practices#unpinned",
	Doc: `report fetchTarball, fetchGit and fetchurl without a hash or revision

Without sha256 (or hash, narHash) the builtin fetchers download whatever
the URL serves today and cache it for an hour; without rev, fetchGit takes
the branch head. Builds stop being reproducible. There is no fix: the hash
must come from the download.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		pins := map[string][]string{
			"fetchTarball": {"sha256", "hash", "narHash"},
			"fetchurl":     {"sha256", "hash", "narHash"},
			"fetchGit":     {"rev"},
		}
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Apply)
			if !ok {
				continue
			}
			for name, keys := range pins {
				if !builtinRef(r, a.Fn, name) {
					continue
				}
				arg := unparen(a.Arg)
				set, isSet := arg.(*syntax.AttrSet)
				if !isSet {
					switch arg.(type) {
					case *syntax.String, *syntax.URI:
						p.ReportRangef(a, "%s of a bare URL is not pinned; pass { url; %s; }", name, keys[0])
					}
					continue
				}
				if !setHasAny(set, keys) {
					p.ReportRangef(a, "%s without %s is not pinned", name, strings.Join(keys, " or "))
				}
			}
		}
		return nil
	},
}

func setHasAny(s *syntax.AttrSet, keys []string) bool {
	for _, b := range s.Bindings {
		var names []syntax.AttrName
		switch b := b.(type) {
		case *syntax.Attr:
			if b.Path != nil && len(b.Path.Names) > 0 {
				names = b.Path.Names[:1]
			}
		case *syntax.Inherit:
			names = b.Names
		}
		for _, nm := range names {
			n, ok := staticName(nm)
			if !ok {
				return true // dynamic: cannot tell
			}
			for _, k := range keys {
				if n == k {
					return true
				}
			}
		}
	}
	return false
}

// ImpureBuiltin reports builtins that read the evaluating machine.
var ImpureBuiltin = &lint.Rule{
	ID:       "NR505",
	Name:     "impure-builtin",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report builtins.currentSystem, currentTime, getEnv and storePath

They read the machine that evaluates (its system, clock, environment and
store) and fail in pure evaluation, which flakes use. Pass the system in,
and read configuration from files. There is no fix.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, n := range p.Nodes() {
			var x syntax.Expr
			switch n := n.(type) {
			case *syntax.Select, *syntax.Ident:
				x = n.(syntax.Expr)
			default:
				continue
			}
			for _, name := range []string{"currentSystem", "currentTime", "getEnv", "storePath"} {
				if builtinRef(r, x, name) {
					p.ReportRangef(n, "builtins.%s is impure: it fails in pure evaluation", name)
				}
			}
		}
		return nil
	},
}
