package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// NoAutomaticGC reports a host configuration without store garbage
// collection.
var NoAutomaticGC = &lint.Rule{
	ID:       "NO604",
	Name:     "no-automatic-gc",
	Severity: diag.Warning,
	URL:      "https://nixos.org/manual/nixos/stable/#sec-nix-gc",
	Doc: `report a host configuration that never collects garbage

Generations and build results pile up until the disk is full. A file is a
host configuration when it sets system.stateVersion; it is reported when it
sets nix.gc.automatic nowhere and imports no other module that could. The
fix adds a weekly collection of generations older than 30 days and
automatic store optimisation; it is safe in the sense that it changes no
existing definition, only adds policy (fleet's own hosts configure this in
CUE, see FV06).`,
	Run: func(p *lint.Pass) error {
		var state *def
		gc, opt, imports := false, false, false
		defs := configDefs(p.File)
		for i, d := range defs {
			switch strings.Join(d.path, ".") {
			case "system.stateVersion":
				state = &defs[i]
			case "nix.gc.automatic":
				gc = true
			case "nix.optimise.automatic", "nix.settings.auto-optimise-store":
				opt = true
			}
		}
		if s := moduleSet(p.File); s != nil {
			for _, b := range s.Bindings {
				if a, ok := b.(*syntax.Attr); ok && a.Path != nil && len(a.Path.Names) == 1 {
					if n, _ := staticName(a.Path.Names[0]); n == "imports" {
						imports = true
					}
				}
			}
		}
		if state == nil || gc || imports {
			return nil
		}
		text := "nix.gc = { automatic = true; dates = \"weekly\"; options = \"--delete-older-than 30d\"; };"
		if !opt {
			text += " nix.optimise.automatic = true;"
		}
		indent := ""
		src := p.File.Src
		off := state.attr.Pos().Offset()
		for i := off - 1; i >= 0 && (src[i] == ' ' || src[i] == '\t'); i-- {
			indent = string(src[i]) + indent
		}
		// On a line of its own after the binding's line when nothing
		// but a comment follows the binding there; else right after it
		// ({ system.stateVersion = "25.05"; }).
		edit := lint.TextEdit{Pos: state.attr.End(), End: state.attr.End(), NewText: " " + text}
		eol := state.attr.End().Offset()
		for eol < len(src) && (src[eol] == ' ' || src[eol] == '\t') {
			eol++
		}
		if eol == len(src) || src[eol] == '\n' || src[eol] == '#' {
			for eol < len(src) && src[eol] != '\n' && src[eol] != '\r' {
				eol++
			}
			at := syntax.Pos(eol + 1)
			edit = lint.TextEdit{Pos: at, End: at, NewText: "\n" + indent + text}
		}
		p.Report(lint.Diagnostic{Pos: state.attr.Pos(), End: state.attr.End(),
			Message: "host configuration without automatic garbage collection (nix.gc.automatic)",
			Fixes: []lint.Fix{{Message: "add weekly garbage collection", Kind: lint.Safe,
				Edits: []lint.TextEdit{edit}}}})
		return nil
	},
}
