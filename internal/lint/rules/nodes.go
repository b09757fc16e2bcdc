package rules

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// identName returns the name of a variable, or "".
func identName(x syntax.Expr) string {
	if id, ok := x.(*syntax.Ident); ok && id != nil && id.Tok != nil {
		return id.Tok.Text
	}
	return ""
}

// dotted returns a.b.c for a variable or a select chain with static names
// and no default, or "".
func dotted(x syntax.Expr) string {
	switch x := x.(type) {
	case *syntax.Ident:
		return identName(x)
	case *syntax.Select:
		if x.Or != nil || x.Path == nil {
			return ""
		}
		base := dotted(x.X)
		if base == "" {
			return ""
		}
		for _, n := range x.Path.Names {
			s, ok := staticName(n)
			if !ok {
				return ""
			}
			base += "." + s
		}
		return base
	}
	return ""
}

// rootIdent returns the variable a select chain starts from.
func rootIdent(x syntax.Expr) *syntax.Ident {
	for {
		switch y := x.(type) {
		case *syntax.Ident:
			return y
		case *syntax.Select:
			x = y.X
		case *syntax.Paren:
			x = y.X
		default:
			return nil
		}
	}
}

// maxCallArgs is the most arguments call looks at. The rules match
// functions of one to three arguments; stopping there keeps the cost of a
// chain of 100,000 applications, each of which a rule may look at,
// linear.
const maxCallArgs = 8

// call splits an application f a b into f and its arguments. For an
// application of more than maxCallArgs arguments it returns x itself and
// no arguments.
func call(x syntax.Expr) (syntax.Expr, []syntax.Expr) {
	var args []syntax.Expr
	fn := x
	for {
		a, ok := fn.(*syntax.Apply)
		if !ok {
			break
		}
		if len(args) == maxCallArgs {
			return x, nil
		}
		args = append(args, a.Arg)
		fn = a.Fn
	}
	for i, j := 0, len(args)-1; i < j; i, j = i+1, j-1 {
		args[i], args[j] = args[j], args[i]
	}
	return fn, args
}

// callee returns the function an application of any number of arguments
// applies.
func callee(x syntax.Expr) syntax.Expr {
	for {
		a, ok := x.(*syntax.Apply)
		if !ok {
			return x
		}
		x = a.Fn
	}
}

// lastName returns the last component of a dotted name.
func lastName(d string) string {
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		return d[i+1:]
	}
	return d
}

// isLibFn reports whether fn names the nixpkgs library function name:
// name, lib.name or lib.<sub>.name.
func isLibFn(fn syntax.Expr, name string) bool {
	d := dotted(syntax.Unparen(fn))
	if d == name {
		return true
	}
	return strings.HasPrefix(d, "lib.") && lastName(d) == name
}

// builtinRef reports whether x names the builtin name: builtins.name with
// builtins unshadowed, __name, or name itself when it is in the prelude
// and unshadowed.
func builtinRef(r *Resolution, x syntax.Expr, name string) bool {
	x = syntax.Unparen(x)
	switch x := x.(type) {
	case *syntax.Ident:
		n := identName(x)
		if n != name && n != "__"+name {
			return false
		}
		b := r.Refs[x]
		return b != nil && b.Kind == BuiltinBinding
	case *syntax.Select:
		if x.Or != nil || x.Path == nil || len(x.Path.Names) != 1 {
			return false
		}
		s, ok := staticName(x.Path.Names[0])
		if !ok || s != name {
			return false
		}
		id, ok := x.X.(*syntax.Ident)
		if !ok || identName(id) != "builtins" {
			return false
		}
		b := r.Refs[id]
		return b != nil && b.Kind == BuiltinBinding
	}
	return false
}

// isBoolLit reports whether x is the unshadowed builtin true or false.
func isBoolLit(r *Resolution, x syntax.Expr) (val, ok bool) {
	id, isID := syntax.Unparen(x).(*syntax.Ident)
	if !isID {
		return false, false
	}
	n := identName(id)
	if n != "true" && n != "false" {
		return false, false
	}
	if r != nil {
		if b := r.Refs[id]; b == nil || b.Kind != BuiltinBinding {
			return false, false
		}
	}
	return n == "true", true
}

// sameTokens reports whether a and b are the same tokens, trivia aside.
func sameTokens(a, b syntax.Node) bool {
	var ta, tb []string
	syntax.Tokens(a, func(t *syntax.Token) { ta = append(ta, t.Text) })
	syntax.Tokens(b, func(t *syntax.Token) { tb = append(tb, t.Text) })
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i] != tb[i] {
			return false
		}
	}
	return true
}

// removal returns the edit deleting n. When n stands alone on its lines
// the whole lines go, with a comment trailing on its last line; otherwise
// n goes with the whitespace right before it. Comments on the lines above
// n stay.
func removal(p *lint.Pass, n syntax.Node) lint.TextEdit {
	src := p.File.Src
	s, e := n.Pos().Offset(), n.End().Offset()
	ls := s
	for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
		ls--
	}
	if ls == 0 || src[ls-1] == '\n' {
		le := e
		for le < len(src) && (src[le] == ' ' || src[le] == '\t') {
			le++
		}
		if le < len(src) && src[le] == '#' {
			// Nix ends a line comment at \r as well as \n.
			for le < len(src) && src[le] != '\n' && src[le] != '\r' {
				le++
			}
		}
		if le == len(src) || src[le] == '\n' {
			if le < len(src) {
				le++
			}
			return lint.TextEdit{Pos: syntax.Pos(ls + 1), End: syntax.Pos(le + 1)}
		}
	}
	start := n.Pos()
	if t := syntax.FirstToken(n); t != nil && len(t.Leading) > 0 {
		if last := t.Leading[len(t.Leading)-1]; last.Kind == syntax.SPACE {
			start = last.Start
			// A line comment before it keeps the newline that ends it.
			if i := strings.LastIndexByte(last.Text, '\n'); i >= 0 && len(t.Leading) > 1 && t.Leading[len(t.Leading)-2].Kind == syntax.LINECOMMENT {
				start = last.Start + syntax.Pos(i+1)
			}
		}
	}
	edit := lint.TextEdit{Pos: start, End: n.End()}
	// let a=1;b=2; without a=1; must not read letb=2;.
	if before, after := start.Offset(), n.End().Offset(); before > 0 && after < len(src) && joins(src[before-1], src[after]) {
		edit.NewText = " "
	}
	return edit
}

// replace returns the edit replacing n by text, with a space on a side
// where text would otherwise run into its neighbour (let in!true must
// become let in false, not let infalse).
func replace(p *lint.Pass, n syntax.Node, text string) lint.TextEdit {
	return replaceRange(p, n.Pos(), n.End(), text)
}

// replaceRange is replace for the source from pos to end.
func replaceRange(p *lint.Pass, pos, end syntax.Pos, text string) lint.TextEdit {
	src := p.File.Src
	s, e := pos.Offset(), end.Offset()
	if text == "" {
		if s > 0 && e < len(src) && joins(src[s-1], src[e]) {
			text = " "
		}
	} else {
		if s > 0 && joins(src[s-1], text[0]) {
			text = " " + text
		}
		if e < len(src) && joins(text[len(text)-1], src[e]) {
			text += " "
		}
	}
	return lint.TextEdit{Pos: pos, End: end, NewText: text}
}

// joins reports whether bytes a and b, put next to each other, could lex
// as one token.
func joins(a, b byte) bool {
	word := func(c byte) bool {
		return c == '_' || c == '\'' || c == '-' || c == '.' || c == '/' || c == '"' || c == '$' ||
			c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	// x: then y is the URI x:y.
	return word(a) && word(b) || a == ':' && syntax.IsURIChar(b)
}

// atomic reports whether x can stand anywhere an operand can without
// parentheses: a variable, literal, string, path, list, set, parenthesised
// expression or select without a default.
func atomic(x syntax.Expr) bool {
	switch x := x.(type) {
	case *syntax.Ident:
		return x.Tok.Kind == syntax.IDENT
	case *syntax.Int, *syntax.Float, *syntax.String, *syntax.PathExpr, *syntax.SearchPath,
		*syntax.URI, *syntax.List, *syntax.AttrSet, *syntax.Paren:
		return true
	case *syntax.Select:
		return x.Or == nil
	}
	return false
}

// paren returns the source of x, parenthesised unless atomic.
func paren(p *lint.Pass, x syntax.Expr) string {
	if atomic(x) {
		return p.Source(x)
	}
	return "(" + p.Source(x) + ")"
}

// Precedence levels of Nix operators, loosest first, as the parser sees
// them.
func precOf(x syntax.Expr) int {
	switch x := x.(type) {
	case *syntax.Binary:
		switch x.Op.Kind {
		case syntax.PIPERIGHT, syntax.PIPELEFT:
			return 1
		case syntax.IMPL:
			return 2
		case syntax.LOR:
			return 3
		case syntax.LAND:
			return 4
		case syntax.EQ, syntax.NEQ:
			return 5
		case syntax.LT, syntax.GT, syntax.LEQ, syntax.GEQ:
			return 6
		case syntax.UPDATE:
			return 7
		case syntax.PLUS, syntax.MINUS:
			return 9
		case syntax.STAR, syntax.SLASH:
			return 10
		case syntax.CONCAT:
			return 11
		}
	case *syntax.Unary:
		if x.Op.Kind == syntax.NOT {
			return 8
		}
		return 13
	case *syntax.HasAttr:
		return 12
	case *syntax.Apply:
		return 14
	case *syntax.Let, *syntax.With, *syntax.Assert, *syntax.If, *syntax.Lambda:
		return 0
	}
	return 15
}

// within reports whether pos lies in n.
func within(n syntax.Node, pos syntax.Pos) bool { return n.Pos() <= pos && pos < n.End() }

// isDivisionLike reports whether the path pe, an argument, reads like the
// right operand of a division: a single component after a space, as in
// a /b.
func isDivisionLike(p *lint.Pass, pe *syntax.PathExpr) bool {
	if len(pe.Parts) != 1 {
		return false
	}
	s := pe.Parts[0].(*syntax.Text).Tok.Text
	if !strings.HasPrefix(s, "/") || strings.Contains(s[1:], "/") || len(s) < 2 {
		return false
	}
	a := p.Parent(pe).(*syntax.Apply)
	if a.Arg != syntax.Node(pe) || a.Fn.End() == pe.Pos() {
		return false
	}
	switch syntax.Unparen(a.Fn).(type) {
	case *syntax.Ident, *syntax.Int, *syntax.Float, *syntax.Select:
		return true
	}
	return false
}

// lambdaLikeURI matches a URI token that reads like a function, x:x.
var lambdaLikeURI = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_'+.-]*:[A-Za-z_][A-Za-z0-9_'-]*$`)

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
		if !p.HasComments(b) {
			d.Fixes = []lint.Fix{{Message: fix, Kind: lint.Safe, Edits: keepOperand(b, keep)}}
		}
		p.Report(d)
	}
}

// identName2 returns the name of an attribute name that is a plain
// identifier (not or), or "".
func identName2(n syntax.AttrName) string {
	if id, ok := n.(*syntax.Ident); ok && id.Tok.Kind == syntax.IDENT {
		return id.Tok.Text
	}
	return ""
}

// clipSource returns the start of n's source, shortened for a message
// by clip, without copying the whole of a large node.
func clipSource(p *lint.Pass, n syntax.Node) string {
	end := n.End()
	if end-n.Pos() > 64 {
		end = n.Pos() + 64
	}
	return clip(p.Text(n.Pos(), end))
}

// clip shortens s for a message.
func clip(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 40 {
		i := 37
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// parseErrorKind sorts a parser error into the rule that reports it.
// Undefined variables, which Nix reports when it parses, are NS307's: that
// rule sees them through the richer resolver and offers corrections.
func parseErrorKind(e diag.Diagnostic) string {
	msg := e.Summary
	switch {
	case e.Code == syntax.UndefinedVariable:
		return "NS307"
	case strings.HasPrefix(msg, "duplicate formal") || strings.Contains(msg, "already defined"):
		return "NL002"
	case strings.HasPrefix(msg, "dynamic attributes not allowed"):
		return "NL003"
	case strings.HasPrefix(msg, "invalid integer") || strings.HasPrefix(msg, "invalid float"):
		return "NL109"
	}
	return "NL001"
}

func reportParseErrors(p *lint.Pass, kind string) {
	for _, e := range p.ParseErrors {
		if parseErrorKind(e) == kind {
			pos := syntax.Pos(e.Range.Start.Offset + 1)
			end := pos
			if e.Range.End.Line > 0 {
				end = syntax.Pos(e.Range.End.Offset + 1)
			}
			p.Reportf(pos, end, "%s", e.Summary)
		}
	}
}

// trailingComment reports whether a comment follows n on n's last line.
func trailingComment(p *lint.Pass, n syntax.Node) bool {
	src := p.File.Src
	i := n.End().Offset()
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return i < len(src) && (src[i] == '#' || i+1 < len(src) && src[i] == '/' && src[i+1] == '*')
}

// stringLit returns the value of a string literal, or "".
func stringLit(x syntax.Expr) string {
	if s, ok := syntax.Unparen(x).(*syntax.String); ok {
		if v, err := syntax.StringValue(s); err == nil {
			return v
		}
	}
	return ""
}
