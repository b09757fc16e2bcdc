package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

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
				arg := syntax.Unparen(a.Arg)
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
