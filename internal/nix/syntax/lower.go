package syntax

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// This file lowers the lossless tree to the expression tree Nix's parser
// builds (nixexpr.hh): parentheses vanish, operators become calls of
// __sub, __lessThan and friends, strings are unescaped and their
// indentation stripped, attribute paths are merged into nested sets. The
// parse-time errors Nix reports (duplicate attributes and formals,
// dynamic attributes in let and inherit, bad numbers) are found here, and
// Show prints the result.

type nexpr interface{}

type (
	nInt    struct{ v int64 }
	nFloat  struct{ v float64 }
	nString struct{ s string }
	nPath   struct{ s string }
	nVar    struct{ name string }
	nSelect struct {
		e    nexpr
		path []nName
		def  nexpr
	}
	nHasAttr struct {
		e    nexpr
		path []nName
	}
	nAttrs struct {
		rec   bool
		keys  []string // insertion order
		attrs map[string]*nDef
		dyn   []nDyn
	}
	nDef struct {
		e         nexpr
		inherited bool
		at        Node
	}
	nDyn struct {
		name, value nexpr
	}
	nList   struct{ elems []nexpr }
	nLambda struct {
		arg        string
		formals    []nFormal
		ellipsis   bool
		hasFormals bool
		body       nexpr
	}
	nFormal struct {
		name string
		def  nexpr
	}
	nCall struct {
		fn   nexpr
		args []nexpr
	}
	nLet struct {
		attrs *nAttrs
		body  nexpr
	}
	nWith   struct{ attrs, body nexpr }
	nIf     struct{ cond, then, els nexpr }
	nAssert struct{ cond, body nexpr }
	nNot    struct{ e nexpr }
	nBin    struct {
		op   string
		a, b nexpr
	}
	nConcat struct{ parts []nexpr }
	nBad    struct{}
)

// An nName is a static attribute name or a dynamic one.
type nName struct {
	name string
	dyn  nexpr // non-nil when dynamic
}

type lowerer struct {
	base, home string
	file       *File // for positions in messages; may be nil
	errorf     func(n Node, format string, args ...any)
}

func (a *nAttrs) set(k string, d *nDef) {
	if a.attrs == nil {
		a.attrs = map[string]*nDef{}
	}
	if _, ok := a.attrs[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.attrs[k] = d
}

func (l *lowerer) lower(e Expr) nexpr {
	switch e := e.(type) {
	case nil:
		return nBad{}
	case *Ident:
		return &nVar{name: e.Tok.Text}
	case *Int:
		v, err := strconv.ParseInt(e.Tok.Text, 10, 64)
		if err != nil {
			l.errorf(e, "invalid integer `%s`: it does not fit in 64 bits", e.Tok.Text)
		}
		return &nInt{v}
	case *Float:
		v, ok := parseFloat(e.Tok.Text)
		if !ok {
			l.errorf(e, "invalid float `%s`: it is out of range", e.Tok.Text)
		}
		return &nFloat{v}
	case *URI:
		return &nString{e.Tok.Text}
	case *SearchPath:
		p := e.Tok.Text
		return &nCall{fn: &nVar{"__findFile"}, args: []nexpr{&nVar{"__nixPath"}, &nString{p[1 : len(p)-1]}}}
	case *PathExpr:
		return l.lowerPath(e)
	case *String:
		return l.lowerString(e)
	case *Paren:
		return l.lower(e.X)
	case *List:
		n := &nList{}
		for _, x := range e.Elems {
			n.elems = append(n.elems, l.lower(x))
		}
		return n
	case *AttrSet:
		a := l.lowerBindings(e.Bindings)
		a.rec = e.Rec != nil
		return a
	case *LegacyLet:
		a := l.lowerBindings(e.Bindings)
		a.rec = true
		return &nSelect{e: a, path: []nName{{name: "body"}}}
	case *Let:
		a := l.lowerBindings(e.Bindings)
		if len(a.dyn) > 0 {
			l.errorf(e.Let, "dynamic attributes not allowed in let")
		}
		return &nLet{attrs: a, body: l.lower(e.Body)}
	case *Select:
		n := &nSelect{e: l.lower(e.X), path: l.lowerAttrPath(e.Path)}
		if e.Or != nil {
			n.def = l.lower(e.Default)
		}
		return n
	case *HasAttr:
		return &nHasAttr{e: l.lower(e.X), path: l.lowerAttrPath(e.Path)}
	case *Apply:
		return call(l.lower(e.Fn), l.lower(e.Arg))
	case *Unary:
		x := l.lower(e.X)
		if e.Op.Kind == NOT {
			return &nNot{x}
		}
		return &nCall{fn: &nVar{"__sub"}, args: []nexpr{&nInt{0}, x}}
	case *Binary:
		a, b := l.lower(e.X), l.lower(e.Y)
		switch e.Op.Kind {
		case PLUS:
			return &nConcat{parts: []nexpr{a, b}}
		case MINUS:
			return &nCall{fn: &nVar{"__sub"}, args: []nexpr{a, b}}
		case STAR:
			return &nCall{fn: &nVar{"__mul"}, args: []nexpr{a, b}}
		case SLASH:
			return &nCall{fn: &nVar{"__div"}, args: []nexpr{a, b}}
		case LT:
			return &nCall{fn: &nVar{"__lessThan"}, args: []nexpr{a, b}}
		case GT:
			return &nCall{fn: &nVar{"__lessThan"}, args: []nexpr{b, a}}
		case LEQ:
			return &nNot{&nCall{fn: &nVar{"__lessThan"}, args: []nexpr{b, a}}}
		case GEQ:
			return &nNot{&nCall{fn: &nVar{"__lessThan"}, args: []nexpr{a, b}}}
		case PIPERIGHT:
			return call(b, a)
		case PIPELEFT:
			return call(a, b)
		}
		return &nBin{op: e.Op.Text, a: a, b: b}
	case *If:
		return &nIf{l.lower(e.Cond), l.lower(e.Then), l.lower(e.Else)}
	case *Assert:
		return &nAssert{l.lower(e.Cond), l.lower(e.Body)}
	case *With:
		return &nWith{l.lower(e.X), l.lower(e.Body)}
	case *Lambda:
		return l.lowerLambda(e)
	case *Bad:
		for _, x := range e.Elems {
			if x, ok := x.(Expr); ok {
				l.lower(x)
			}
		}
		return nBad{}
	}
	return nBad{}
}

// call applies fn to arg the way Nix's parser does: an application of a
// call (including desugared operators) gets one more argument.
func call(fn, arg nexpr) nexpr {
	if c, ok := fn.(*nCall); ok {
		c.args = append(c.args, arg)
		return c
	}
	return &nCall{fn: fn, args: []nexpr{arg}}
}

func (l *lowerer) lowerLambda(e *Lambda) nexpr {
	n := &nLambda{}
	if e.Param != nil {
		n.arg = e.Param.Tok.Text
	}
	if e.Formals != nil {
		n.hasFormals = true
		checkFormals(e, l.errorf)
		for _, f := range e.Formals.Items {
			if f.Ellipsis != nil {
				n.ellipsis = true
				continue
			}
			if f.Name == nil {
				continue
			}
			nf := nFormal{name: f.Name.Tok.Text}
			if f.Question != nil {
				nf.def = l.lower(f.Default)
			}
			n.formals = append(n.formals, nf)
		}
	}
	n.body = l.lower(e.Body)
	return n
}

func parseFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return v, false
	}
	// Nix uses strtod, which reports underflow as an error too: a
	// non-zero literal whose value is subnormal or zero.
	if v < 0x1p-1022 && strings.ContainsAny(mantissa(s), "123456789") {
		return v, false
	}
	return v, true
}

func mantissa(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		return s[:i]
	}
	return s
}

func (l *lowerer) lowerPath(e *PathExpr) nexpr {
	first := e.Parts[0].(*Text).Tok
	var p string
	if first.Kind == HPATH {
		p = l.home + first.Text[1:]
	} else {
		p = first.Text
		if !strings.HasPrefix(p, "/") {
			p = l.base + "/" + p
		}
		p = path.Clean(p)
		if strings.HasSuffix(first.Text, "/") && len(first.Text) > 1 {
			p += "/"
		}
	}
	if len(e.Parts) == 1 {
		return &nPath{p}
	}
	n := &nConcat{parts: []nexpr{&nPath{p}}}
	for _, part := range e.Parts[1:] {
		switch part := part.(type) {
		case *Text:
			n.parts = append(n.parts, &nString{part.Tok.Text})
		case *Interpolation:
			n.parts = append(n.parts, l.lower(part.X))
		}
	}
	return n
}

// A strPiece is one element of a string as Nix's parser sees it: literal
// text (with whether it may hold indentation) or an interpolation.
type strPiece struct {
	text   string
	indent bool
	expr   Expr
	isExpr bool
}

func (l *lowerer) lowerString(e *String) nexpr {
	pieces := stringPieces(e)
	var parts []nexpr
	if e.Open.Kind == INDOPEN {
		for _, p := range stripIndentation(pieces) {
			if p.isExpr {
				parts = append(parts, l.lower(p.expr))
			} else {
				parts = append(parts, &nString{p.text})
			}
		}
		if len(pieces) == 0 {
			return &nString{""}
		}
		if len(parts) == 1 {
			if s, ok := parts[0].(*nString); ok {
				return s
			}
		}
		return &nConcat{parts: parts}
	}
	hasInterp := false
	for _, p := range pieces {
		if p.isExpr {
			hasInterp = true
			parts = append(parts, l.lower(p.expr))
		} else {
			parts = append(parts, &nString{p.text})
		}
	}
	if !hasInterp {
		var b strings.Builder
		for _, p := range pieces {
			b.WriteString(p.text)
		}
		return &nString{b.String()}
	}
	return &nConcat{parts: parts}
}

// stringPieces returns the elements of a string literal with escapes
// decoded, as Nix's lexer hands them to the parser.
func stringPieces(e *String) []strPiece {
	var ps []strPiece
	for _, part := range e.Parts {
		switch part := part.(type) {
		case *Text:
			t := part.Tok
			switch t.Kind {
			case STRTEXT:
				ps = append(ps, strPiece{text: unescape(t.Text, true)})
			case INDTEXT:
				ps = append(ps, strPiece{text: t.Text, indent: true})
			case INDLONE:
				ps = append(ps, strPiece{text: t.Text})
			case INDESCAPE:
				switch t.Text[2] {
				case '$':
					ps = append(ps, strPiece{text: "$"})
				case '\'':
					ps = append(ps, strPiece{text: "''"})
				default:
					ps = append(ps, strPiece{text: unescape(t.Text[2:], false)})
				}
			default:
				ps = append(ps, strPiece{text: t.Text})
			}
		case *Interpolation:
			ps = append(ps, strPiece{expr: part.X, isExpr: true})
		}
	}
	return ps
}

// unescape decodes the escapes of a double-quoted string run: \n, \r, \t,
// and \c for any other c; with normCR, a raw CR or CRLF becomes LF.
func unescape(s string, normCR bool) string {
	if !strings.ContainsAny(s, "\\\r") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(s[i])
			}
		case c == '\r' && normCR:
			b.WriteByte('\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripIndentation removes the common indentation of an indented string
// exactly as Nix does: only spaces count, lines holding only spaces do not,
// interpolations and escapes end a line's indentation, and a final line of
// spaces is dropped.
func stripIndentation(ps []strPiece) []strPiece {
	if len(ps) == 0 {
		return nil
	}
	atStart := true
	minIndent := 1000000
	cur := 0
	for _, p := range ps {
		if p.isExpr || !p.indent {
			if atStart {
				atStart = false
				if cur < minIndent {
					minIndent = cur
				}
			}
			continue
		}
		for j := 0; j < len(p.text); j++ {
			c := p.text[j]
			if atStart {
				switch c {
				case ' ':
					cur++
				case '\n':
					cur = 0
				default:
					atStart = false
					if cur < minIndent {
						minIndent = cur
					}
				}
			} else if c == '\n' {
				atStart = true
				cur = 0
			}
		}
	}
	out := make([]strPiece, 0, len(ps))
	atStart = true
	dropped := 0
	for i, p := range ps {
		if p.isExpr {
			atStart = false
			dropped = 0
			out = append(out, p)
			continue
		}
		var b strings.Builder
		for j := 0; j < len(p.text); j++ {
			c := p.text[j]
			if atStart {
				switch c {
				case ' ':
					if dropped >= minIndent {
						b.WriteByte(c)
					}
					dropped++
				case '\n':
					dropped = 0
					b.WriteByte(c)
				default:
					atStart = false
					dropped = 0
					b.WriteByte(c)
				}
			} else {
				b.WriteByte(c)
				if c == '\n' {
					atStart = true
				}
			}
		}
		s := b.String()
		if i == len(ps)-1 {
			if k := strings.LastIndexByte(s, '\n'); k >= 0 && strings.Trim(s[k+1:], " ") == "" {
				s = s[:k+1]
			}
		}
		out = append(out, strPiece{text: s})
	}
	return out
}

func (l *lowerer) lowerAttrPath(ap *AttrPath) []nName {
	if ap == nil {
		return nil
	}
	var ns []nName
	for _, n := range ap.Names {
		ns = append(ns, l.lowerName(n))
	}
	return ns
}

func (l *lowerer) lowerName(n AttrName) nName {
	switch n := n.(type) {
	case *Ident:
		return nName{name: n.Tok.Text}
	case *String:
		x := l.lowerString(n)
		if s, ok := x.(*nString); ok {
			return nName{name: s.s}
		}
		return nName{dyn: x}
	case *Interpolation:
		x := l.lower(n.X)
		if s, ok := x.(*nString); ok {
			return nName{name: s.s}
		}
		return nName{dyn: x}
	}
	return nName{dyn: nBad{}}
}

func (l *lowerer) lowerBindings(bs []Binding) *nAttrs {
	a := &nAttrs{}
	for _, b := range bs {
		switch b := b.(type) {
		case *Attr:
			path := l.lowerAttrPath(b.Path)
			var v nexpr = nBad{}
			if b.Value != nil {
				v = l.lower(b.Value)
			}
			if len(path) > 0 {
				l.addAttr(a, path, v, b.Path)
			}
		case *Inherit:
			var from nexpr
			if b.From != nil {
				from = l.lower(b.From.X)
			}
			for _, n := range b.Names {
				nn := l.lowerName(n)
				if nn.dyn != nil {
					l.errorf(n, "dynamic attributes not allowed in inherit")
					continue
				}
				if prev, ok := a.attrs[nn.name]; ok {
					l.dupAttr(nn.name, n, prev.at)
				}
				if from != nil {
					a.set(nn.name, &nDef{e: &nSelect{e: from, path: []nName{nn}}, at: n})
				} else {
					a.set(nn.name, &nDef{e: &nVar{nn.name}, inherited: true, at: n})
				}
			}
		case *Bad:
			l.lower(b)
		}
	}
	return a
}

func (l *lowerer) dupAttr(name string, at, prev Node) {
	l.errorf(at, "attribute `%s` already defined%s", name, l.where(prev))
}

func (l *lowerer) where(n Node) string {
	if n == nil || l.file == nil || !n.Pos().IsValid() {
		return ""
	}
	p := l.file.Position(n.Pos())
	return fmt.Sprintf(" at %d:%d", p.Line, p.Col)
}

func showPath(ns []nName) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteByte('.')
		}
		if n.dyn != nil {
			b.WriteString("${...}")
		} else {
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// addAttr inserts e at path into attrs, merging nested sets the way Nix's
// parser does (and reporting the duplicates it reports).
func (l *lowerer) addAttr(attrs *nAttrs, path []nName, e nexpr, at *AttrPath) {
	for _, n := range path[:len(path)-1] {
		if n.dyn != nil {
			nested := &nAttrs{}
			attrs.dyn = append(attrs.dyn, nDyn{n.dyn, nested})
			attrs = nested
			continue
		}
		if j, ok := attrs.attrs[n.name]; ok {
			if a2, isAttrs := j.e.(*nAttrs); isAttrs && !j.inherited {
				attrs = a2
				continue
			}
			l.dupAttr(showPath(path), at, j.at)
			return
		}
		nested := &nAttrs{}
		attrs.set(n.name, &nDef{e: nested, at: at})
		attrs = nested
	}
	last := path[len(path)-1]
	if last.dyn != nil {
		attrs.dyn = append(attrs.dyn, nDyn{last.dyn, e})
		return
	}
	j, ok := attrs.attrs[last.name]
	if !ok {
		attrs.set(last.name, &nDef{e: e, at: at})
		return
	}
	ae, ok1 := e.(*nAttrs)
	ja, ok2 := j.e.(*nAttrs)
	if !ok1 || !ok2 || j.inherited {
		l.dupAttr(showPath(path), at, j.at)
		return
	}
	for _, k := range ae.keys {
		if prev, dup := ja.attrs[k]; dup {
			l.dupAttr(k, ae.attrs[k].at, prev.at)
			continue
		}
		ja.set(k, ae.attrs[k])
	}
}
