package syntax

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The constructors below build trees without source positions, for code
// generators. They choose tokens only; layout is left to package format,
// which prints such trees (WriteTo would run their tokens together).
// Every constructor parenthesizes its operands where Nix's grammar needs
// it, so a built tree always means what its shape says.

func tok(k Kind, text string) *Token { return &Token{Kind: k, Text: text} }

// IsIdent reports whether s can be written as a bare identifier: it
// matches Nix's identifier syntax and is not a keyword.
func IsIdent(s string) bool {
	if matchID(s, 0) != len(s) || s == "" {
		return false
	}
	_, kw := keywords[s]
	return !kw
}

// Id returns the identifier name. It panics when name is not an
// identifier; use Name for attribute names, which need not be.
func Id(name string) *Ident {
	if !IsIdent(name) {
		panic("syntax.Id: not an identifier: " + strconv.Quote(name))
	}
	return &Ident{Tok: tok(IDENT, name)}
}

// Name returns an attribute name: bare when it is an identifier, quoted
// otherwise ({ "foo.conf" = ...; }).
func Name(s string) AttrName {
	if IsIdent(s) {
		return Id(s)
	}
	return Str(s)
}

// Str returns the double-quoted string literal with value s.
func Str(s string) *String {
	q := Quote(s)
	n := &String{Open: tok(QUOTE, `"`), Close: tok(QUOTE, `"`)}
	if len(q) > 2 {
		n.Parts = []StringPart{&Text{Tok: tok(STRTEXT, q[1:len(q)-1])}}
	}
	return n
}

// Interpolated returns the string "${x}" built of literal strings and
// expressions: each part is a string (literal text) or an Expr.
func Interpolated(parts ...any) *String {
	n := &String{Open: tok(QUOTE, `"`), Close: tok(QUOTE, `"`)}
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			if q := Quote(p); len(q) > 2 {
				n.Parts = append(n.Parts, &Text{Tok: tok(STRTEXT, q[1:len(q)-1])})
			}
		case Expr:
			n.Parts = append(n.Parts, &Interpolation{Open: tok(INTERP, "${"), X: p, Close: tok(RBRACE, "}")})
		default:
			panic("syntax.Interpolated: part is neither string nor Expr")
		}
	}
	return n
}

// IntLit returns the integer v; a negative v is the negation of its
// absolute value, as Nix has no negative literals.
func IntLit(v int64) Expr {
	if v < 0 {
		if v == math.MinInt64 {
			// -(2^63) cannot be written; 0 - 2^63 + 1 - 1 would be. Keep it exact.
			return Op(Neg(IntLit(math.MaxInt64)), MINUS, IntLit(1))
		}
		return Neg(IntLit(-v))
	}
	return &Int{Tok: tok(INT, strconv.FormatInt(v, 10))}
}

// FloatLit returns the float v, always written with a decimal point so
// that Nix reads a float. It panics for NaN and infinities, which Nix
// cannot write.
func FloatLit(v float64) Expr {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		panic("syntax.FloatLit: not finite")
	}
	if v < 0 || v == 0 && math.Signbit(v) {
		return Neg(FloatLit(-v))
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	mant, exp, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if hasExp {
		s = mant + "e" + exp
	} else {
		s = mant
	}
	return &Float{Tok: tok(FLOAT, s)}
}

// Bool returns true or false.
func Bool(b bool) *Ident {
	if b {
		return Id("true")
	}
	return Id("false")
}

// Null returns null.
func Null() *Ident { return Id("null") }

// PathLit returns the path p, such as ./hosts/p620.nix or /etc/nixos. It
// panics when p is not a complete Nix path.
func PathLit(p string) *PathExpr {
	var r runs
	k := PATH
	n := r.matchPath(p, 0)
	if strings.HasPrefix(p, "~") {
		k, n = HPATH, r.matchHPath(p, 0)
	}
	if n != len(p) || strings.HasSuffix(p, "/") {
		panic("syntax.PathLit: not a path: " + strconv.Quote(p))
	}
	return &PathExpr{Parts: []StringPart{&Text{Tok: tok(k, p)}}}
}

// Ref returns the variable or selection a dotted name stands for:
// Ref("pkgs.python3Packages.requests"). Components that are not
// identifiers are quoted.
func Ref(dotted string) Expr {
	names := strings.Split(dotted, ".")
	if len(names) == 1 {
		return Id(names[0])
	}
	return Sel(Id(names[0]), names[1:]...)
}

// Sel returns x.names..., parenthesizing x when needed.
func Sel(x Expr, names ...string) *Select {
	if s, ok := x.(*Select); !ok || s.Or != nil {
		x = operand(x, 100)
	}
	return &Select{X: x, Dot: tok(DOT, "."), Path: Path(names...)}
}

// SelOr returns x.names... or def.
func SelOr(x Expr, def Expr, names ...string) *Select {
	s := Sel(x, names...)
	s.Or = tok(OR, "or")
	s.Default = simple(def)
	return s
}

// Path returns the attribute path of names, each bare or quoted as needed.
func Path(names ...string) *AttrPath {
	if len(names) == 0 {
		panic("syntax.Path: no names")
	}
	ap := &AttrPath{}
	for i, s := range names {
		if i > 0 {
			ap.Dots = append(ap.Dots, tok(DOT, "."))
		}
		ap.Names = append(ap.Names, Name(s))
	}
	return ap
}

// Bind returns the binding dotted = value;, splitting dotted at dots:
// Bind("networking.hostName", Str("p620")). Use BindPath for names that
// contain dots.
func Bind(dotted string, value Expr) *Attr {
	return BindPath(strings.Split(dotted, "."), value)
}

// BindPath returns the binding names... = value;.
func BindPath(names []string, value Expr) *Attr {
	return &Attr{Path: Path(names...), Assign: tok(ASSIGN, "="), Value: value, Semi: tok(SEMI, ";")}
}

// InheritNames returns inherit names...;.
func InheritNames(names ...string) *Inherit {
	n := &Inherit{Inherit: tok(INHERIT, "inherit"), Semi: tok(SEMI, ";")}
	for _, s := range names {
		n.Names = append(n.Names, Name(s))
	}
	return n
}

// InheritFrom returns inherit (from) names...;.
func InheritFrom(from Expr, names ...string) *Inherit {
	n := InheritNames(names...)
	n.From = Parens(from)
	return n
}

// Attrs returns the attribute set { bindings }.
func Attrs(bindings ...Binding) *AttrSet {
	return &AttrSet{Open: tok(LBRACE, "{"), Bindings: bindings, Close: tok(RBRACE, "}")}
}

// ListOf returns [ elems ], parenthesizing elements that are not simple
// expressions (a negative number, an application, an operator).
func ListOf(elems ...Expr) *List {
	l := &List{Open: tok(LBRACK, "["), Close: tok(RBRACK, "]")}
	for _, e := range elems {
		l.Elems = append(l.Elems, simple(e))
	}
	return l
}

// Call returns the application fn args..., parenthesizing as needed.
func Call(fn Expr, args ...Expr) Expr {
	switch fn.(type) {
	case *Apply:
	default:
		fn = simple(fn)
	}
	for _, a := range args {
		fn = &Apply{Fn: fn, Arg: simple(a)}
	}
	return fn
}

// Fn returns the function param: body.
func Fn(param string, body Expr) *Lambda {
	return &Lambda{Param: Id(param), Colon: tok(COLON, ":"), Body: body}
}

// FnArgs returns the function { formals }: body.
func FnArgs(formals *Formals, body Expr) *Lambda {
	return &Lambda{Formals: formals, Colon: tok(COLON, ":"), Body: body}
}

// Arg returns a formal argument name, with a default when def is not nil.
func Arg(name string, def Expr) *Formal {
	f := &Formal{Name: Id(name)}
	if def != nil {
		f.Question = tok(QUESTION, "?")
		f.Default = def
	}
	return f
}

// Args returns the formals { names... }, adding ... when ellipsis is set:
// Args(true, "config", "lib", "pkgs") is { config, lib, pkgs, ... }.
func Args(ellipsis bool, names ...string) *Formals {
	var items []*Formal
	for _, s := range names {
		items = append(items, Arg(s, nil))
	}
	return ArgsOf(ellipsis, items...)
}

// ArgsOf returns formals of the given items, adding ... when ellipsis is
// set.
func ArgsOf(ellipsis bool, items ...*Formal) *Formals {
	fs := &Formals{Open: tok(LBRACE, "{"), Close: tok(RBRACE, "}")}
	if ellipsis {
		items = append(items, &Formal{Ellipsis: tok(ELLIPSIS, "...")})
	}
	for i, it := range items {
		if i < len(items)-1 {
			it.Comma = tok(COMMA, ",")
		}
	}
	fs.Items = items
	return fs
}

// LetIn returns let bindings in body.
func LetIn(bindings []Binding, body Expr) *Let {
	return &Let{Let: tok(LET, "let"), Bindings: bindings, In: tok(IN, "in"), Body: body}
}

// WithIn returns with x; body.
func WithIn(x, body Expr) *With {
	return &With{With: tok(WITH, "with"), X: x, Semi: tok(SEMI, ";"), Body: body}
}

// IfThen returns if cond then a else b.
func IfThen(cond, a, b Expr) *If {
	return &If{If: tok(IF, "if"), Cond: cond, ThenTok: tok(THEN, "then"), Then: a, ElseTok: tok(ELSE, "else"), Else: b}
}

// Parens returns (x).
func Parens(x Expr) *Paren {
	return &Paren{Open: tok(LPAREN, "("), X: x, Close: tok(RPAREN, ")")}
}

// Not returns !x.
func Not(x Expr) *Unary { return &Unary{Op: tok(NOT, "!"), X: operand(x, precNot+1)} }

// Neg returns -x.
func Neg(x Expr) *Unary { return &Unary{Op: tok(MINUS, "-"), X: operand(x, precNegate+1)} }

// Op returns x op y for a binary operator kind (PLUS, UPDATE, CONCAT, EQ,
// LAND, ...), parenthesizing operands by precedence and associativity.
func Op(x Expr, op Kind, y Expr) *Binary {
	prec, as := binaryPrec(op)
	if prec == 0 || op == QUESTION {
		panic("syntax.Op: not a binary operator: " + op.String())
	}
	lp, rp := prec, prec
	switch as {
	case left:
		rp++
	case right:
		lp++
	default:
		lp++
		rp++
	}
	return &Binary{X: operand(x, lp), Op: tok(op, op.String()), Y: operand(y, rp)}
}

// WithComment returns n with comment lines (without the leading #) placed
// on their own lines before it. A line is split further at every line
// terminator Nix knows (\n, \r and \r\n: a # comment ends at either),
// and characters that are not printable (control characters, bidirectional
// overrides, invalid UTF-8) are written as Go escapes (\x00, \u202e), so
// text from anywhere can never end a comment early or hide what follows.
func WithComment[N Node](n N, lines ...string) N {
	t := firstToken(n)
	if t == nil {
		return n
	}
	var lead []Token
	for _, ln := range lines {
		for _, part := range commentLines(ln) {
			text := "#"
			if part != "" {
				text += " " + part
			}
			lead = append(lead, Token{Kind: SPACE, Text: "\n"}, Token{Kind: LINECOMMENT, Text: text})
		}
	}
	lead = append(lead, Token{Kind: SPACE, Text: "\n"})
	t.Leading = append(lead, t.Leading...)
	return n
}

// commentLines returns the lines of text as WithComment writes them: split
// at \n, \r and \r\n, each line with its unprintable characters escaped
// and its trailing blanks removed.
func commentLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	parts := strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n")
	for i, p := range parts {
		parts[i] = strings.TrimRight(escapeUnprintable(p), " ")
	}
	return parts
}

// escapeUnprintable writes the characters of s a reader could not see, or
// that could change how the rest of a line reads, as Go escapes.
func escapeUnprintable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == ' ' || unicode.IsGraphic(r) && !BidiControl(r):
			b.WriteString(s[i : i+size])
		case r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
		i += size
	}
	return b.String()
}

// BidiControl reports whether r changes the direction of the text around
// it, which lets a line display differently from what it says.
func BidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	}
	return false
}

// NewFile returns a file holding e, for printing with package format.
func NewFile(e Expr) *File {
	return &File{Expr: e, EOF: tok(EOF, "")}
}

// exprPrec returns how tightly e binds as an operand: 100 for a simple
// expression (a list element or argument), 99 for an application or
// selection, the operator's level for operators, and 0 for the forms
// that extend to the right (lambda, if, let, with, assert).
func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Ident, *Int, *Float, *URI, *SearchPath, *PathExpr, *String, *Paren, *List, *AttrSet, *LegacyLet:
		return 100
	case *Select:
		return 99
	case *Apply:
		return 98
	case *Unary:
		if e.Op.Kind == NOT {
			return precNot
		}
		return precNegate
	case *HasAttr:
		return precHasAttr
	case *Binary:
		p, _ := binaryPrec(e.Op.Kind)
		return p
	}
	return 0
}

// operand parenthesizes x unless it binds at least as tightly as min.
func operand(x Expr, min int) Expr {
	if exprPrec(x) >= min {
		return x
	}
	return Parens(x)
}

// simple parenthesizes x unless it is a simple expression or selection,
// as list elements and arguments must be.
func simple(x Expr) Expr { return operand(x, 99) }
