package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UnusedLetBinding reports let bindings nothing live uses.
var UnusedLetBinding = &lint.Rule{
	ID:       "NS301",
	Name:     "unused-let-binding",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report let bindings that are never used

A binding is used when the let's body uses it, or a used binding of the
same let does; bindings used only by each other or by themselves are
unused together. The fix removes them: let is lazy, so an unused binding is
never evaluated and removing it changes nothing. Comments above a removed
binding are kept. When every binding goes, the let goes too.`,
	Run: runUnusedLet,
}

func within(n syntax.Node, pos syntax.Pos) bool { return n.Pos() <= pos && pos < n.End() }

func runUnusedLet(p *lint.Pass) error {
	r := resolution(p)
	byLet := map[*syntax.Let][]*Binding{}
	var lets []*syntax.Let
	for _, b := range r.Bindings {
		if b.Kind != LetBinding {
			continue
		}
		l := b.Owner.(*syntax.Let)
		if byLet[l] == nil {
			lets = append(lets, l)
		}
		byLet[l] = append(byLet[l], b)
	}
	for _, l := range lets {
		bs := byLet[l]
		live := map[*Binding]bool{}
		var work []*Binding
		// defines reports whether use u lies inside a definition of c.
		defines := func(c *Binding, u *syntax.Ident) bool {
			for _, a := range c.Attrs {
				if within(a, u.Pos()) {
					return true
				}
			}
			return c.Inherit != nil && c.Inherit.From != nil && within(c.Inherit.From, u.Pos())
		}
		for _, b := range bs {
			for _, u := range b.Uses {
				if l.Body != nil && within(l.Body, u.Pos()) {
					live[b] = true
					work = append(work, b)
					break
				}
			}
		}
		for len(work) > 0 {
			c := work[len(work)-1]
			work = work[:len(work)-1]
			for _, b := range bs {
				if live[b] {
					continue
				}
				for _, u := range b.Uses {
					if defines(c, u) {
						live[b] = true
						work = append(work, b)
						break
					}
				}
			}
		}
		dead := 0
		for _, b := range bs {
			if !live[b] {
				dead++
			}
		}
		if dead == 0 {
			continue
		}
		for _, b := range bs {
			if live[b] {
				continue
			}
			var at syntax.Node
			if len(b.Attrs) > 0 {
				at = b.Attrs[0].Path.Names[0]
			} else {
				at = b.InheritAt
			}
			d := lint.Diagnostic{Pos: at.Pos(), End: at.End(), Message: "unused let binding `" + b.Name + "`"}
			var edits []lint.TextEdit
			if dead == len(bs) && onlyBindings(l, bs) {
				edits = []lint.TextEdit{{Pos: l.Pos(), End: l.Body.Pos(), NewText: keptComments(l)}}
			} else {
				edits = removeBinding(p, b, live)
			}
			if edits != nil {
				d.Fixes = []lint.Fix{{Message: "remove the unused binding", Kind: lint.Safe, Edits: edits}}
			}
			p.Report(d)
		}
	}
	return nil
}

// onlyBindings reports whether every binding syntax of l defines one of
// bs (no Bad bindings, no dynamic names).
func onlyBindings(l *syntax.Let, bs []*Binding) bool {
	return len(l.Bindings) > 0 && l.Body != nil && l.In != nil && countBindings(bs) == len(l.Bindings)
}

func countBindings(bs []*Binding) int {
	seen := map[syntax.Node]bool{}
	for _, b := range bs {
		for _, a := range b.Attrs {
			seen[a] = true
		}
		if b.Inherit != nil {
			seen[b.Inherit] = true
		}
	}
	return len(seen)
}

// keptComments returns the comments between let and its body, each ended
// so that the body can follow.
func keptComments(l *syntax.Let) string {
	var out strings.Builder
	for _, b := range l.Bindings {
		syntax.Tokens(b, func(t *syntax.Token) {
			for _, c := range t.Leading {
				if c.Kind == syntax.LINECOMMENT {
					out.WriteString(c.Text + "\n")
				} else if c.Kind == syntax.BLOCKCOMMENT {
					out.WriteString(c.Text + " ")
				}
			}
		})
	}
	for _, c := range append(append([]syntax.Token(nil), l.In.Leading...), firstTok(l.Body).Leading...) {
		if c.Kind == syntax.LINECOMMENT {
			out.WriteString(c.Text + "\n")
		} else if c.Kind == syntax.BLOCKCOMMENT {
			out.WriteString(c.Text + " ")
		}
	}
	return out.String()
}

// removeBinding returns the edits removing b's definitions. A name of an
// inherit whose other names are all dead takes the whole inherit.
func removeBinding(p *lint.Pass, b *Binding, live map[*Binding]bool) []lint.TextEdit {
	var edits []lint.TextEdit
	for _, a := range b.Attrs {
		edits = append(edits, removal(p, a))
	}
	if in := b.Inherit; in != nil {
		if len(in.Names) == 1 {
			return append(edits, removal(p, in))
		}
		// Other names of this inherit that are alive keep it.
		alive := false
		for _, n := range in.Names {
			if n != b.InheritAt && isLiveName(n, live) {
				alive = true
			}
		}
		if !alive {
			return append(edits, removal(p, in))
		}
		edits = append(edits, removal(p, b.InheritAt))
	}
	return edits
}

func isLiveName(n syntax.AttrName, live map[*Binding]bool) bool {
	for b, ok := range live {
		if ok && b.InheritAt == n {
			return true
		}
	}
	return false
}

// UnusedLambdaArg reports x: … with x unused.
var UnusedLambdaArg = &lint.Rule{
	ID:       "NS302",
	Name:     "unused-lambda-arg",
	Severity: diag.Info,
	Requires: []*lint.Rule{Scope},
	Doc: `report a function argument x: … that the body never uses

The fix renames it to _x, the conventional mark of an intentionally unused
argument; it is safe, and withheld when the body mentions _x (the new name
would capture it). Curried functions such as final: prev: overlays are not
reported: their shape is fixed by the caller.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != ParamBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
				continue
			}
			l := b.Owner.(*syntax.Lambda)
			if l.Formals != nil {
				continue // NS304
			}
			if _, curried := l.Body.(*syntax.Lambda); curried {
				continue
			}
			if _, inner := p.Parent(l).(*syntax.Lambda); inner {
				continue
			}
			d := lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused function argument `" + b.Name + "`"}
			if !mentions(l.Body, "_"+b.Name) {
				d.Fixes = []lint.Fix{{Message: "rename it to _" + b.Name, Kind: lint.Safe,
					Edits: []lint.TextEdit{replace(b.Ident, "_"+b.Name)}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// mentions reports whether any identifier token of n is name.
func mentions(n syntax.Node, name string) bool {
	found := false
	syntax.Tokens(n, func(t *syntax.Token) {
		if t.Kind == syntax.IDENT && t.Text == name {
			found = true
		}
	})
	return found
}

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
	for _, b := range r.Bindings {
		if b.Kind != FormalBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
			continue
		}
		l := b.Owner.(*syntax.Lambda)
		d := lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused formal argument `" + b.Name + "`"}
		if hasEllipsis(l.Formals) && !isCallPackage(l) {
			if e := removeFormal(p, l.Formals, b.Formal); e != nil {
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

func removeFormal(p *lint.Pass, fs *syntax.Formals, f *syntax.Formal) []lint.TextEdit {
	if hasComments(f) {
		return nil
	}
	for i, it := range fs.Items {
		if it != f {
			continue
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
	}
	return nil
}

// UnusedAtBinding reports args@{ … } with args unused.
var UnusedAtBinding = &lint.Rule{
	ID:       "NS304",
	Name:     "unused-at-binding",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report the name in args@{ … }: when the body never uses it

The fix removes "args@" (or "@args"); the function takes the same
arguments either way, so it is safe.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, b := range r.Bindings {
			if b.Kind != ParamBinding || len(b.Uses) > 0 || strings.HasPrefix(b.Name, "_") {
				continue
			}
			l := b.Owner.(*syntax.Lambda)
			if l.Formals == nil || l.At == nil {
				continue
			}
			var e lint.TextEdit
			if l.ParamFirst {
				e = lint.TextEdit{Pos: l.Param.Pos(), End: l.Formals.Pos()}
			} else {
				e = lint.TextEdit{Pos: l.Formals.End(), End: l.Param.End()}
			}
			p.Report(lint.Diagnostic{Pos: b.Ident.Pos(), End: b.Ident.End(), Message: "unused `@` binding `" + b.Name + "`",
				Fixes: []lint.Fix{{Message: "remove the @ binding", Kind: lint.Safe, Edits: []lint.TextEdit{e}}}})
		}
		return nil
	},
}

// UnusedRec reports rec { } whose bindings are never used inside.
var UnusedRec = &lint.Rule{
	ID:       "NS305",
	Name:     "unused-rec",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report rec { … } in which no binding uses another

Uses count wherever they are: values, interpolations in strings and
dynamic names, inherit (e) sources. The fix removes rec, which is safe
because no name inside resolves to the set's own bindings. Sets with an
__overrides attribute are left alone.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		used := map[*syntax.AttrSet]bool{}
		odd := map[*syntax.AttrSet]bool{}
		for _, b := range r.Bindings {
			if s, ok := b.Owner.(*syntax.AttrSet); ok && b.Kind == RecBinding {
				used[s] = used[s] || len(b.Uses) > 0
				odd[s] = odd[s] || b.Name == "__overrides"
			}
		}
		for _, n := range p.Nodes() {
			s, ok := n.(*syntax.AttrSet)
			if !ok || s.Rec == nil || used[s] || odd[s] {
				continue
			}
			p.Report(lint.Diagnostic{Pos: s.Rec.Pos(), End: s.Rec.End(), Message: "`rec` set uses none of its own bindings",
				Fixes: []lint.Fix{{Message: "remove rec", Kind: lint.Safe, Edits: []lint.TextEdit{{Pos: s.Rec.Pos(), End: s.Open.Pos()}}}}})
		}
		return nil
	},
}

// UnusedWith reports with e; whose body takes no name from e.
var UnusedWith = &lint.Rule{
	ID:       "NS306",
	Name:     "unused-with",
	Severity: diag.Warning,
	Requires: []*lint.Rule{Scope},
	Doc: `report with e; when no name in its body can come from e

A with only supplies names that no let, rec, function or builtin binds;
when every name in the body is bound that way, the with does nothing and e
is never evaluated. The fix removes "with e;", keeping comments.`,
	Run: func(p *lint.Pass) error {
		r := resolution(p)
		for _, w := range r.Withs {
			if len(r.WithUses[w]) > 0 || w.Semi == nil || w.Body == nil {
				continue
			}
			d := lint.Diagnostic{Pos: w.Pos(), End: w.Semi.End(), Message: "`with " + clip(p.Source(w.X)) + ";` provides no name"}
			if !hasCommentsBefore(w.Body) {
				d.Fixes = []lint.Fix{{Message: "remove the with", Kind: lint.Safe, Edits: []lint.TextEdit{{Pos: w.Pos(), End: w.Body.Pos()}}}}
			}
			p.Report(d)
		}
		return nil
	},
}

func hasCommentsBefore(n syntax.Node) bool {
	for _, c := range firstTok(n).Leading {
		if c.Kind != syntax.SPACE {
			return true
		}
	}
	return false
}
