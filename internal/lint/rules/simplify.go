package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// UselessHasAttr reports if x ? a then x.a else d.
var UselessHasAttr = &lint.Rule{
	ID:       "NL203",
	Name:     "useless-has-attr",
	Severity: diag.Warning,
	Doc: `report if x ? a then x.a else d, which is x.a or d

The fix is safe: it is applied only when the tested expression and path
are token for token those selected in the then branch, and it parenthesises
d unless d is a single operand, since a default after "or" binds tightly.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			e, ok := n.(*syntax.If)
			if !ok {
				continue
			}
			h, ok := unparen(e.Cond).(*syntax.HasAttr)
			if !ok {
				continue
			}
			s, ok := unparen(e.Then).(*syntax.Select)
			if !ok || s.Or != nil || h.Path == nil || s.Path == nil {
				continue
			}
			if !sameTokens(h.X, s.X) || !sameTokens(h.Path, s.Path) {
				continue
			}
			text := p.Source(s) + " or " + paren(p, unparen(e.Else))
			if _, isSel := unparen(e.Else).(*syntax.Select); isSel {
				text = p.Source(s) + " or (" + p.Source(unparen(e.Else)) + ")"
			}
			d := lint.Diagnostic{Pos: e.Pos(), End: e.End(), Message: "`if … ? … then … else` can be written `" + text + "`"}
			if !hasComments(e) {
				d.Fixes = []lint.Fix{{Message: "use or", Kind: lint.Safe, Edits: []lint.TextEdit{replace(e, text)}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// EmptyLetIn reports let in e.
var EmptyLetIn = &lint.Rule{
	ID:       "NL205",
	Name:     "empty-let-in",
	Severity: diag.Warning,
	Doc: `report let in e, a let without bindings

The fix removes let and in and keeps any comment written between them.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			l, ok := n.(*syntax.Let)
			if !ok || len(l.Bindings) > 0 || l.In == nil || l.Body == nil {
				continue
			}
			var comments []string
			for _, t := range []*syntax.Token{l.In, firstTok(l.Body)} {
				for _, c := range t.Leading {
					if c.Kind != syntax.SPACE {
						sep := " "
						if c.Kind == syntax.LINECOMMENT {
							sep = "\n"
						}
						comments = append(comments, c.Text+sep)
					}
				}
			}
			p.Report(lint.Diagnostic{Pos: l.Pos(), End: l.In.End(), Message: "`let` without bindings",
				Fixes: []lint.Fix{{Message: "remove the empty let", Kind: lint.Safe,
					Edits: []lint.TextEdit{{Pos: l.Pos(), End: l.Body.Pos(), NewText: strings.Join(comments, "")}}}}})
		}
		return nil
	},
}

// EmptyInherit reports inherit; and inherit (x);.
var EmptyInherit = &lint.Rule{
	ID:       "NL206",
	Name:     "empty-inherit",
	Severity: diag.Warning,
	Doc: `report inherit; and inherit (x); that inherit nothing

The fix removes the binding; inherit (x); never evaluates x, so nothing
changes.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			in, ok := n.(*syntax.Inherit)
			if !ok || len(in.Names) > 0 || in.Semi == nil {
				continue
			}
			d := lint.Diagnostic{Pos: in.Pos(), End: in.End(), Message: "`inherit` of nothing"}
			if !hasComments(in) {
				d.Fixes = []lint.Fix{{Message: "remove the empty inherit", Kind: lint.Safe, Edits: []lint.TextEdit{removal(p, in)}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// keepOperand returns the edits that replace b by its operand keep.
func keepOperand(b *syntax.Binary, keep syntax.Expr) []lint.TextEdit {
	return []lint.TextEdit{{Pos: b.Pos(), End: keep.Pos()}, {Pos: keep.End(), End: b.End()}}
}

func emptyOperand(p *lint.Pass, op syntax.Kind, empty func(syntax.Expr) bool, what, fix string) {
	for _, n := range p.Nodes() {
		b, ok := n.(*syntax.Binary)
		if !ok || b.Op.Kind != op {
			continue
		}
		var keep syntax.Expr
		switch {
		case empty(b.X):
			keep = b.Y
		case empty(b.Y):
			keep = b.X
		default:
			continue
		}
		d := lint.Diagnostic{Pos: b.Pos(), End: b.End(), Message: what}
		if !hasComments(b) {
			d.Fixes = []lint.Fix{{Message: fix, Kind: lint.Safe, Edits: keepOperand(b, keep)}}
		}
		p.Report(d)
	}
}

// EmptyListConcat reports [] ++ x and x ++ [].
var EmptyListConcat = &lint.Rule{
	ID:       "NL207",
	Name:     "empty-list-concat",
	Severity: diag.Warning,
	Doc: `report [] ++ x and x ++ [], which are x

The fix keeps x. It differs only when x is not a list: the concatenation
fails and x alone does not.`,
	Run: func(p *lint.Pass) error {
		emptyOperand(p, syntax.CONCAT, func(x syntax.Expr) bool {
			l, ok := x.(*syntax.List)
			return ok && len(l.Elems) == 0
		}, "concatenation with an empty list", "drop the empty list")
		return nil
	},
}

// UpdateEmptySet reports x // {} and {} // x.
var UpdateEmptySet = &lint.Rule{
	ID:       "NL208",
	Name:     "update-empty-set",
	Severity: diag.Warning,
	Doc: `report x // {} and {} // x, which are x

The fix keeps x. It differs only when x is not an attribute set: the update
fails and x alone does not.`,
	Run: func(p *lint.Pass) error {
		emptyOperand(p, syntax.UPDATE, func(x syntax.Expr) bool {
			s, ok := x.(*syntax.AttrSet)
			return ok && s.Rec == nil && len(s.Bindings) == 0
		}, "update with an empty set", "drop the empty set")
		return nil
	},
}

// ListLiteralConcat reports [a] ++ [b].
var ListLiteralConcat = &lint.Rule{
	ID:       "NL209",
	Name:     "list-literal-concat",
	Severity: diag.Info,
	Doc: `report [ a ] ++ [ b ], which is [ a b ]

The fix merges the two lists. It is safe: list literals concatenate to the
list of their elements. It is withheld when comments sit between the two.`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			b, ok := n.(*syntax.Binary)
			if !ok || b.Op.Kind != syntax.CONCAT {
				continue
			}
			l, ok1 := b.X.(*syntax.List)
			r, ok2 := b.Y.(*syntax.List)
			if !ok1 || !ok2 || len(l.Elems) == 0 || len(r.Elems) == 0 {
				continue
			}
			d := lint.Diagnostic{Pos: b.Pos(), End: b.End(), Message: "concatenation of two list literals"}
			from, to := l.Elems[len(l.Elems)-1].End(), r.Elems[0].Pos()
			if !strings.ContainsAny(p.Text(from, to), "#*") {
				d.Fixes = []lint.Fix{{Message: "merge the lists", Kind: lint.Safe,
					Edits: []lint.TextEdit{{Pos: from, End: to, NewText: " "}}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// ManualInheritFrom reports a = x.a;.
var ManualInheritFrom = &lint.Rule{
	ID:       "NL212",
	Name:     "manual-inherit-from",
	Severity: diag.Info,
	Doc: `report a = x.a; which is inherit (x) a;

The fix is safe in every kind of set and let: inherit (x) evaluates x in
the same scope the value did. It is applied only to single names without a
default (a = x.a or d is different).`,
	Run: func(p *lint.Pass) error {
		for _, n := range p.Nodes() {
			a, ok := n.(*syntax.Attr)
			if !ok || a.Path == nil || len(a.Path.Names) != 1 || a.Semi == nil {
				continue
			}
			name := identName2(a.Path.Names[0])
			s, ok := a.Value.(*syntax.Select)
			if name == "" || !ok || s.Or != nil || s.Path == nil || len(s.Path.Names) != 1 {
				continue
			}
			if got, ok := staticName(s.Path.Names[0]); !ok || got != name || identName2(s.Path.Names[0]) == "" {
				continue
			}
			text := "inherit (" + p.Source(unparen(s.X)) + ") " + name + ";"
			d := lint.Diagnostic{Pos: a.Pos(), End: a.End(), Message: "`" + p.Source(a) + "` can be written `" + text + "`"}
			if !hasComments(a) {
				d.Fixes = []lint.Fix{{Message: "use inherit", Kind: lint.Safe, Edits: []lint.TextEdit{replace(a, text)}}}
			}
			p.Report(d)
		}
		return nil
	},
}

// identName2 returns the name of an attribute name that is a plain
// identifier (not or), or "".
func identName2(n syntax.AttrName) string {
	if id, ok := n.(*syntax.Ident); ok && id.Tok.Kind == syntax.IDENT {
		return id.Tok.Text
	}
	return ""
}

// UselessParens reports parentheses that change nothing.
var UselessParens = &lint.Rule{
	ID:       "NL204",
	Name:     "useless-parens",
	Severity: diag.Info,
	Doc: `report parentheses that change nothing, such as a = (x);

Parentheses are reported when they hold a single operand (a variable,
literal, string, list, set or select) or fill a whole binding value, let
body, with body, assert body, function body or interpolation. The fix
removes them only where the precedence table proves the tree unchanged, so
nix-instantiate --parse prints the same expression before and after; it is
withheld where removing them would join two tokens.`,
	Run: runUselessParens,
}

func runUselessParens(p *lint.Pass) error {
	src := p.File.Src
	for _, n := range p.Nodes() {
		par, ok := n.(*syntax.Paren)
		if !ok || par.X == nil || par.Close == nil {
			continue
		}
		inner := par.X
		whole := false
		switch parent := p.Parent(par).(type) {
		case *syntax.Inherit:
			continue // inherit (x) needs them
		case *syntax.Attr:
			whole = parent.Value == syntax.Expr(par)
		case *syntax.Let:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.With:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Assert:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Lambda:
			whole = parent.Body == syntax.Expr(par)
		case *syntax.Interpolation, *syntax.Paren:
			whole = true
		case *syntax.File:
			whole = true
		case *syntax.Select:
			// (a).b: only an operand that is not itself a select with
			// a default and not a number (1.b lexes as a float).
			switch inner.(type) {
			case *syntax.Int, *syntax.Float:
				continue
			}
			if s, ok := inner.(*syntax.Select); ok && s.Or != nil {
				continue
			}
		}
		if !whole && !atomic(inner) {
			continue
		}
		if id, ok := inner.(*syntax.Ident); ok && id.Tok.Kind == syntax.OR {
			continue
		}
		d := lint.Diagnostic{Pos: par.Pos(), End: par.End(), Message: "useless parentheses around `" + clip(p.Source(inner)) + "`"}
		before, after := byte(' '), byte(' ')
		if off := par.Pos().Offset(); off > 0 {
			before = src[off-1]
		}
		if off := par.End().Offset(); off < len(src) {
			after = src[off]
		}
		if !hasComments(par) && !joins(before, p.Source(inner)[0]) && !joins(p.Source(inner)[len(p.Source(inner))-1], after) {
			d.Fixes = []lint.Fix{{Message: "remove the parentheses", Kind: lint.Safe, Edits: []lint.TextEdit{
				{Pos: par.Open.Pos(), End: inner.Pos()},
				{Pos: inner.End(), End: par.Close.End()},
			}}}
		}
		p.Report(d)
	}
	return nil
}

// joins reports whether bytes a and b, put next to each other, could lex
// as one token.
func joins(a, b byte) bool {
	word := func(c byte) bool {
		return c == '_' || c == '\'' || c == '-' || c == '.' || c == '/' || c == '"' || c == '$' ||
			c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	return word(a) && word(b)
}

// clip shortens s for a message.
func clip(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 40 {
		s = s[:37] + "…"
	}
	return s
}
