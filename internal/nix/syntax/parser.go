package syntax

import (
	"fmt"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
)

// UndefinedVariable is the Code of the errors that name a variable no
// scope binds. They are errors to Nix, but not to the grammar: a formatter
// can lay out such a file.
const UndefinedVariable = "undefined-variable"

// A Mode selects optional language features for ParseMode.
type Mode uint

// The modes.
const (
	// PipeOperators accepts |> and <|, which Nix 2.8 does not have.
	PipeOperators Mode = 1 << iota
)

// Parse parses the Nix source src, naming it filename in positions. It
// always returns a File whose WriteTo reproduces src exactly; when src has
// errors the tree holds Bad nodes where they are, and the list has every
// error found, sorted by position. Parse accepts the language of Nix 2.8.
func Parse(filename string, src []byte) (*File, diag.List) {
	return ParseMode(filename, src, 0)
}

// ParseMode is Parse with optional language features.
func ParseMode(filename string, src []byte, mode Mode) (*File, diag.List) {
	return parseIn(filename, src, mode, nil)
}

// ParseIn parses src as an expression that will be placed where the
// variables names are bound, such as a fragment of a NixOS module's body
// (config, lib, pkgs): it reports undefined variables other than those.
func ParseIn(filename string, src []byte, names ...string) (*File, diag.List) {
	bound := map[string]bool{}
	for _, n := range names {
		bound[n] = true
	}
	return parseIn(filename, src, 0, bound)
}

func parseIn(filename string, src []byte, mode Mode, bound map[string]bool) (*File, diag.List) {
	f := &File{Name: filename, Src: src}
	f.lines = lineStarts(src)
	p := &parser{f: f, mode: mode, stack: 1}
	sc := &scanner{src: string(src), pipes: mode&PipeOperators != 0, errorf: p.errorfOff}
	p.toks = sc.scan()
	if !p.parseFile() || p.links > maxTreeDepth-3*maxStack && !p.checkTreeDepth(f.Expr) {
		// Too deep: keep every token, in a Bad node, for WriteTo.
		bad := &Bad{Elems: make([]Node, 0, len(p.toks)-1)}
		for i := range p.toks[:len(p.toks)-1] {
			bad.Elems = append(bad.Elems, &p.toks[i])
		}
		f.Expr, f.EOF = bad, &p.toks[len(p.toks)-1]
	}
	fillSpans(f)
	checkSemantics(f, p)
	p.undefined = true
	checkScopes(f, bound, p.errorf)
	return f, p.errors()
}

// parseFile parses the whole file into p.f. It returns false when the
// input is nested more deeply than Nix can parse; the error is reported.
func (p *parser) parseFile() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, deep := r.(tooDeep); !deep {
				panic(r)
			}
			ok = false
		}
	}()
	f := p.f
	f.Expr = p.parseExpr()
	if p.cur().Kind != EOF {
		bad := &Bad{Elems: []Node{f.Expr}}
		p.errorf(p.cur(), "unexpected %s after the end of the expression", describe(p.cur()))
		for p.cur().Kind != EOF {
			bad.Elems = append(bad.Elems, p.next())
		}
		f.Expr = bad
	}
	f.EOF = p.next()
	return true
}

func lineStarts(src []byte) []int {
	lines := make([]int, 1, len(src)/32+1)
	for i, c := range src {
		if c == '\n' {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// Position returns the line and column of p for display. Columns count
// bytes from 1. A file that was built rather than parsed (NewFile) has
// no positions: its nodes' are the zero Pos.
func (f *File) Position(p Pos) diag.Pos {
	if !p.IsValid() || len(f.lines) == 0 {
		return diag.Pos{}
	}
	off := p.Offset()
	line := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	return diag.Pos{Line: line + 1, Col: off - f.lines[line] + 1, Offset: off}
}

// Range returns the diagnostic range of n in f.
func (f *File) Range(n Node) diag.Range {
	return diag.Range{File: f.Name, Start: f.Position(n.Pos()), End: f.Position(n.End())}
}

type parser struct {
	idents slab[Ident]
	attrs  slab[Attr]
	paths  slab[AttrPath]
	texts  slab[Text]
	strs   slab[String]

	// Scratch stacks and chunks for the slices of nodes: a list is built
	// on the stack, then copied into a chunk shared with other lists.
	bindStack []Binding
	bindChunk []Binding
	nameStack []AttrName
	nameChunk []AttrName
	dotStack  []*Token
	dotChunk  []*Token

	f    *File
	toks []Token
	i    int
	mode Mode

	// The errors found so far: syntax errors and, once undefined is
	// set, undefined variables, each kind capped at MaxErrors.
	syntaxErrs, undefErrs errorSet
	undefined             bool
	// deep is the error that stopped the parse, if the input was nested
	// more deeply than Nix can parse.
	deep *diag.Diagnostic
	// errAt records the offsets that have an error: one error per place
	// is enough, the rest are usually its echoes.
	errAt map[int]bool
	// pending is an attribute path recovered from the value of the
	// previous binding when its `;` was missing.
	pending *AttrPath

	// stack is the height Nix 2.8's parser stack would have before the
	// construct being parsed, and tail what depth.go needs to know of the
	// constructs that end where the current expression ends; links counts
	// the nodes of left-nested chains (applications, operators).
	stack, tail, links int
}

// MaxErrors is the number of syntax errors, and separately of undefined
// variables, that Parse reports for one file: the first ones by
// position, and then one more error saying that there were more. It
// bounds the cost of hostile input (a binary file has an error on almost
// every byte), as go/scanner's limit does.
const MaxErrors = 10

// An errorSet keeps the MaxErrors errors at the smallest offsets.
type errorSet struct {
	kept    diag.List
	offs    []int
	dropped bool
	// minDropped is the smallest offset of an error left out.
	minDropped int
}

// full reports whether an error at off would be left out.
func (s *errorSet) full(off int) bool {
	if len(s.kept) < MaxErrors {
		return false
	}
	m := 0
	for _, o := range s.offs {
		m = max(m, o)
	}
	return off >= m
}

func (s *errorSet) drop(off int) {
	if !s.dropped || off < s.minDropped {
		s.minDropped = off
	}
	s.dropped = true
}

func (s *errorSet) add(off int, d diag.Diagnostic) {
	s.kept = append(s.kept, d)
	s.offs = append(s.offs, off)
	if len(s.kept) <= MaxErrors {
		return
	}
	m := 0
	for i, o := range s.offs {
		if o > s.offs[m] {
			m = i
		}
	}
	s.drop(s.offs[m])
	s.kept = append(s.kept[:m], s.kept[m+1:]...)
	s.offs = append(s.offs[:m], s.offs[m+1:]...)
}

// errors returns every error kept, sorted, with a last one for each kind
// that had more.
func (p *parser) errors() diag.List {
	var l diag.List
	l = append(l, p.syntaxErrs.kept...)
	l = append(l, p.undefErrs.kept...)
	if p.deep != nil {
		l = append(l, *p.deep)
	}
	more := func(s *errorSet, what, code string) {
		if !s.dropped {
			return
		}
		at := p.f.Position(posAt(s.minDropped))
		l = append(l, diag.Diagnostic{Severity: diag.Error, Code: code,
			Range:   diag.Range{File: p.f.Name, Start: at, End: at},
			Summary: fmt.Sprintf("too many %s: only the first %d are reported", what, MaxErrors)})
	}
	more(&p.syntaxErrs, "errors", "")
	more(&p.undefErrs, "undefined variables", UndefinedVariable)
	l.Sort()
	return l
}

func (p *parser) errorfOff(start, end int, format string, args ...any) {
	set := &p.syntaxErrs
	code := ""
	if p.undefined {
		set, code = &p.undefErrs, UndefinedVariable
	}
	if p.errAt[start] {
		return
	}
	if set.full(start) {
		set.drop(start)
		return
	}
	if p.errAt == nil {
		p.errAt = map[int]bool{}
	}
	p.errAt[start] = true
	set.add(start, diag.Diagnostic{
		Severity: diag.Error,
		Code:     code,
		Range:    diag.Range{File: p.f.Name, Start: p.f.Position(posAt(start)), End: p.f.Position(posAt(end))},
		Summary:  fmt.Sprintf(format, args...),
	})
}

func (p *parser) errorf(n Node, format string, args ...any) {
	if t, ok := n.(*Token); ok && t.Kind == ILLEGAL {
		return // the scanner has said what is wrong with it
	}
	start, end := n.Pos(), n.End()
	if !start.IsValid() {
		start, end = p.cur().Start, p.cur().End()
	}
	p.errorfOff(start.Offset(), end.Offset(), format, args...)
}

// A slab hands out nodes from chunks, which saves the garbage collector
// most of the work of a large file's many small nodes.
type slab[T any] struct{ buf []T }

func (s *slab[T]) new() *T {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]T, 0, 128)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// keep copies s into chunk, growing it by chunks, and returns the copy.
func keep[T any](chunk *[]T, s []T) []T {
	if len(s) == 0 {
		return nil
	}
	if cap(*chunk)-len(*chunk) < len(s) {
		*chunk = make([]T, 0, max(256, len(s)))
	}
	start := len(*chunk)
	*chunk = append(*chunk, s...)
	return (*chunk)[start:len(*chunk):len(*chunk)]
}

func (p *parser) ident(t *Token) *Ident {
	n := p.idents.new()
	n.Tok = t
	return n
}

func (p *parser) cur() *Token { return &p.toks[p.i] }

func (p *parser) peek(n int) Kind {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n].Kind
	}
	return EOF
}

func (p *parser) next() *Token {
	t := &p.toks[p.i]
	if t.Kind != EOF {
		p.i++
	}
	return t
}

func (p *parser) got(k Kind) *Token {
	if p.cur().Kind == k {
		return p.next()
	}
	return nil
}

// expect consumes a token of kind k, or reports what was expected and
// where, and returns nil.
func (p *parser) expect(k Kind, context string) *Token {
	if t := p.got(k); t != nil {
		return t
	}
	msg := fmt.Sprintf("expected `%s`", k)
	if context != "" {
		msg += " " + context
	}
	p.errorf(p.cur(), "%s, found %s", msg, describe(p.cur()))
	return nil
}

// describe names a token for an error message.
func describe(t *Token) string {
	switch t.Kind {
	case EOF:
		return "end of file"
	case IDENT:
		return "identifier `" + t.Text + "`"
	case INT, FLOAT:
		return "number `" + t.Text + "`"
	case PATH, HPATH, PATHTEXT:
		return "path `" + t.Text + "`"
	case STRTEXT, INDTEXT, INDESCAPE, INDLONE:
		return "string text"
	case ILLEGAL:
		return fmt.Sprintf("%q", t.Text)
	}
	if t.Kind.IsKeyword() {
		return "keyword `" + t.Text + "`"
	}
	return "`" + t.Text + "`"
}

// pathText renders an attribute path as written, for messages.
func pathText(ap *AttrPath) string {
	if ap == nil {
		return ""
	}
	var b strings.Builder
	for i, n := range ap.Names {
		if i > 0 {
			b.WriteByte('.')
		}
		Tokens(n, func(t *Token) { b.WriteString(t.Text) })
	}
	return b.String()
}

// ---- expressions ----
//
// The calls of check, enter and leave count the items Nix's parser stack
// would hold (depth.go): check(k) where the construct holds k items on
// top of its base, enter(k) around a part parsed with k items before it.

// parseExpr parses expr_function: lambdas, assert, with, let and below.
func (p *parser) parseExpr() Expr {
	switch t := p.cur(); t.Kind {
	case IDENT:
		switch p.peek(1) {
		case COLON:
			p.check(2)
			param := p.ident(p.next())
			return p.lambdaBody(&Lambda{Param: param}, 2)
		case AT:
			p.check(2)
			lam := &Lambda{Param: p.ident(p.next()), ParamFirst: true}
			lam.At = p.next()
			if p.cur().Kind != LBRACE {
				p.errorf(p.cur(), "expected `{` after `@`, found %s", describe(p.cur()))
				return p.lambdaBody(lam, 2)
			}
			lam.Formals = p.parseFormals(2)
			return p.lambdaBody(lam, 6)
		}
	case LBRACE:
		p.splitPeak()
		if p.isFormals() {
			lam := &Lambda{Formals: p.parseFormals(0)}
			if at := p.got(AT); at != nil {
				p.check(4)
				lam.At = at
				if p.cur().Kind == IDENT {
					p.check(5)
					lam.Param = p.ident(p.next())
				} else {
					p.errorf(p.cur(), "expected a name after `@`, found %s", describe(p.cur()))
				}
				return p.lambdaBody(lam, 6)
			}
			return p.lambdaBody(lam, 4)
		}
	case ASSERT:
		p.check(1)
		n := &Assert{Assert: p.next()}
		p.enter(1)
		n.Cond = p.sub()
		p.leave(1)
		p.check(3)
		n.Semi = p.expect(SEMI, "after the condition of `assert`")
		p.enter(3)
		n.Body = p.body(1)
		p.leave(3)
		return n
	case WITH:
		p.check(1)
		n := &With{With: p.next()}
		p.enter(1)
		n.X = p.sub()
		p.leave(1)
		p.check(3)
		n.Semi = p.expect(SEMI, "after the expression of `with`")
		p.enter(3)
		n.Body = p.body(1)
		p.leave(3)
		return n
	case LET:
		if p.peek(1) != LBRACE {
			p.check(1)
			n := &Let{Let: p.next()}
			n.Bindings = p.parseBindings(IN, 1)
			p.check(3)
			n.In = p.expect(IN, "after the bindings of `let`")
			p.enter(3)
			n.Body = p.body(1)
			p.leave(3)
			return n
		}
	}
	return p.parseIf()
}

// lambdaBody parses the colon and the body of a function whose head
// takes k items of Nix's stack with the colon.
func (p *parser) lambdaBody(lam *Lambda, k int) Expr {
	p.check(k)
	lam.Colon = p.expect(COLON, "before the body of the function")
	p.enter(k)
	lam.Body = p.body(1)
	p.leave(k)
	return lam
}

// isFormals decides, after {, between a lambda's formals and an attribute
// set, with the lookahead Nix's grammar uses.
func (p *parser) isFormals() bool {
	switch p.peek(1) {
	case RBRACE:
		k := p.peek(2)
		return k == COLON || k == AT
	case ELLIPSIS:
		return true
	case IDENT:
		k := p.peek(2)
		return k == COMMA || k == QUESTION || k == RBRACE
	}
	return false
}

// parseFormals parses { formals } with base items before the {. Nix
// 2.8's formals are right-recursive: each formal and its comma stay on
// the stack until the }.
func (p *parser) parseFormals(base int) *Formals {
	p.check(base + 1)
	fs := &Formals{Open: p.next()}
	at := base + 1 // the { and the formals with their commas so far
	closeFormals := func() {
		p.check(at + 1)
		fs.Close = p.expect(RBRACE, "after `...`, which must come last")
		if fs.Close != nil {
			p.check(base + 3)
		}
	}
	for {
		switch p.cur().Kind {
		case ELLIPSIS:
			p.check(at + 1)
			fs.Items = append(fs.Items, &Formal{Ellipsis: p.next()})
			closeFormals()
			return fs
		case IDENT:
			p.check(at + 1)
			f := &Formal{Name: p.ident(p.next())}
			fs.Items = append(fs.Items, f)
			if q := p.got(QUESTION); q != nil {
				p.check(at + 2)
				f.Question = q
				p.enter(at + 2)
				f.Default = p.sub()
				p.leave(at + 2)
			}
			if c := p.got(COMMA); c != nil {
				p.check(at + 2)
				f.Comma = c
				at += 2
				continue
			}
			p.check(base + 3)
			fs.Close = p.expect(RBRACE, "or `,` after the argument `"+f.Name.Tok.Text+"`")
			return fs
		case RBRACE:
			p.check(at + 1) // the empty formals after the last comma
			p.check(base + 3)
			fs.Close = p.next()
			return fs
		default:
			p.errorf(p.cur(), "expected an argument name, `...` or `}` in the function's arguments, found %s", describe(p.cur()))
			return fs
		}
	}
}

// parseIf parses expr_if: if-then-else, and pipe chains in PipeOperators
// mode, over expr_op.
func (p *parser) parseIf() Expr {
	if p.cur().Kind == IF {
		p.check(1)
		n := &If{If: p.next()}
		p.enter(1)
		n.Cond = p.sub()
		p.leave(1)
		p.check(3)
		n.ThenTok = p.expect(THEN, "after the condition of `if`")
		p.enter(3)
		n.Then = p.sub()
		p.leave(3)
		p.check(5)
		n.ElseTok = p.expect(ELSE, "after the `then` branch of `if`")
		p.enter(5)
		n.Else = p.body(3)
		p.leave(5)
		return n
	}
	x := p.parseOp(0)
	if p.mode&PipeOperators == 0 {
		return x
	}
	switch p.cur().Kind {
	case PIPERIGHT: // left-associative
		for p.cur().Kind == PIPERIGHT {
			p.links++
			op := p.next()
			p.enter(2)
			x = &Binary{X: x, Op: op, Y: p.parseOp(0)}
			p.leave(2)
		}
		if p.cur().Kind == PIPELEFT {
			p.errorf(p.cur(), "`|>` and `<|` cannot be mixed without parentheses")
		}
	case PIPELEFT: // right-associative
		var xs []Expr
		var ops []*Token
		xs = append(xs, x)
		for p.cur().Kind == PIPELEFT {
			ops = append(ops, p.next())
			p.enter(2)
			xs = append(xs, p.parseOp(0))
		}
		p.leave(2 * len(ops))
		if p.cur().Kind == PIPERIGHT {
			p.errorf(p.cur(), "`|>` and `<|` cannot be mixed without parentheses")
		}
		x = xs[len(xs)-1]
		for i := len(ops) - 1; i >= 0; i-- {
			x = &Binary{X: xs[i], Op: ops[i], Y: x}
		}
	}
	return x
}

// Binary operator precedences, higher binds tighter, from Nix's parser.y.
const (
	precImpl = 1 + iota
	precOr
	precAnd
	precEq
	precCmp
	precUpdate
	precNot
	precAdd
	precMul
	precConcat
	precHasAttr
	precNegate
)

type assoc uint8

const (
	left assoc = iota
	right
	nonassoc
)

func binaryPrec(k Kind) (int, assoc) {
	switch k {
	case IMPL:
		return precImpl, right
	case LOR:
		return precOr, left
	case LAND:
		return precAnd, left
	case EQ, NEQ:
		return precEq, nonassoc
	case LT, GT, LEQ, GEQ:
		return precCmp, nonassoc
	case UPDATE:
		return precUpdate, right
	case PLUS, MINUS:
		return precAdd, left
	case STAR, SLASH:
		return precMul, left
	case CONCAT:
		return precConcat, right
	case QUESTION:
		return precHasAttr, nonassoc
	}
	return 0, left
}

// parseOp parses expr_op, absorbing binary operators that bind at least
// as tightly as min. While an operand is parsed, Nix's stack holds the
// operator and what is left of it (two items); a unary operator holds
// one.
func (p *parser) parseOp(min int) Expr {
	var x Expr
	switch p.cur().Kind {
	case NOT:
		p.check(1)
		op := p.next()
		p.enter(1)
		x = &Unary{Op: op, X: p.parseOp(precNot + 1)}
		p.leave(1)
	case MINUS:
		p.check(1)
		op := p.next()
		p.enter(1)
		x = &Unary{Op: op, X: p.parseOp(precNegate + 1)}
		p.leave(1)
	default:
		x = p.parseApp()
	}
	lastNonassoc := 0
	for {
		k := p.cur().Kind
		prec, as := binaryPrec(k)
		if prec == 0 || prec < min {
			return x
		}
		p.links++
		if k == QUESTION {
			p.check(2)
			q := p.next()
			x = &HasAttr{X: x, Question: q, Path: p.parseAttrPath("after `?`", 2)}
			continue
		}
		if as == nonassoc && prec == lastNonassoc {
			p.errorf(p.cur(), "operator `%s` is not associative: add parentheses", p.cur().Text)
		}
		p.check(2)
		op := p.next()
		var y Expr
		p.enter(2)
		switch as {
		case right:
			y = p.parseOp(prec)
		default:
			y = p.parseOp(prec + 1)
		}
		p.leave(2)
		x = &Binary{X: x, Op: op, Y: y}
		if as == nonassoc {
			lastNonassoc = prec
		} else {
			lastNonassoc = 0
		}
	}
}

// canStartSimple reports whether k can begin expr_simple.
func canStartSimple(k Kind) bool {
	switch k {
	case IDENT, INT, FLOAT, PATH, HPATH, SPATH, URILIT, QUOTE, INDOPEN, LPAREN, LBRACK, LBRACE, REC, LET:
		return true
	}
	return false
}

// parseApp parses expr_app: left-associative application of selects.
// Nix's stack holds the application so far while an argument is parsed.
func (p *parser) parseApp() Expr {
	fn := p.parseSelect()
	for canStartSimple(p.cur().Kind) {
		p.links++
		p.enter(1)
		fn = &Apply{Fn: fn, Arg: p.parseSelect()}
		p.leave(1)
	}
	return fn
}

// parseSelect parses expr_select: x.a.b, x.a.b or d, and the application
// x or of the variable or.
func (p *parser) parseSelect() Expr {
	x := p.parseSimple()
	switch p.cur().Kind {
	case DOT:
		p.check(2)
		n := &Select{X: x, Dot: p.next()}
		n.Path = p.parseAttrPath("after `.`", 2)
		if or := p.got(OR); or != nil {
			p.check(4)
			n.Or = or
			if !canStartSimple(p.cur().Kind) {
				p.errorf(p.cur(), "expected a default value after `or`, found %s", describe(p.cur()))
				return n
			}
			p.enter(4)
			n.Default = p.parseSelect()
			p.leave(4)
		}
		return n
	case OR:
		p.check(2)
		return &Apply{Fn: x, Arg: p.ident(p.next())}
	}
	return x
}

func (p *parser) parseSimple() Expr {
	t := p.cur()
	switch t.Kind {
	case IDENT:
		p.check(1)
		return p.ident(p.next())
	case INT:
		p.check(1)
		return &Int{Tok: p.next()}
	case FLOAT:
		p.check(1)
		return &Float{Tok: p.next()}
	case URILIT:
		p.check(1)
		return &URI{Tok: p.next()}
	case SPATH:
		p.check(1)
		return &SearchPath{Tok: p.next()}
	case PATH, HPATH:
		return p.parsePath()
	case QUOTE, INDOPEN:
		return p.parseString(0)
	case LPAREN:
		p.check(1)
		n := &Paren{Open: p.next()}
		p.enter(1)
		n.X = p.sub()
		p.leave(1)
		p.check(3)
		n.Close = p.expect(RPAREN, "to close `(`")
		return n
	case LBRACK:
		p.check(2)
		n := &List{Open: p.next()}
		p.enter(2)
		for {
			for canStartSimple(p.cur().Kind) {
				n.Elems = append(n.Elems, p.parseSelect())
			}
			switch p.cur().Kind {
			case RBRACK, SEMI, RBRACE, RPAREN, IN, THEN, ELSE, EOF:
			default:
				// Something that cannot be an element, such as the -
				// of -1: report it, keep it, and go on to the ].
				msg := "expected `]` to close the list, found %s"
				switch p.cur().Kind {
				case MINUS, IF, ASSERT, WITH, NOT:
					msg += "; list elements that are not simple expressions need parentheses"
				}
				p.errorf(p.cur(), msg, describe(p.cur()))
				n.Elems = append(n.Elems, &Bad{Elems: []Node{p.next()}})
				continue
			}
			break
		}
		p.leave(2)
		if p.cur().Kind != RBRACK {
			msg := "expected `]` to close the list, found %s"
			switch p.cur().Kind {
			case MINUS, IF, ASSERT, WITH, NOT:
				msg += "; list elements that are not simple expressions need parentheses"
			}
			p.errorf(p.cur(), msg, describe(p.cur()))
			return n
		}
		p.check(3)
		n.Close = p.next()
		return n
	case LBRACE:
		p.check(1)
		n := &AttrSet{Open: p.next()}
		n.Bindings = p.parseBindings(RBRACE, 1)
		p.check(3)
		n.Close = p.expect(RBRACE, "to close the attribute set")
		return n
	case REC:
		p.check(1)
		n := &AttrSet{Rec: p.next()}
		p.check(2)
		n.Open = p.expect(LBRACE, "after `rec`")
		if n.Open == nil {
			return n
		}
		n.Bindings = p.parseBindings(RBRACE, 2)
		p.check(4)
		n.Close = p.expect(RBRACE, "to close the attribute set")
		return n
	case LET:
		p.check(1)
		n := &LegacyLet{Let: p.next()}
		p.check(2)
		n.Open = p.expect(LBRACE, "after `let` here; `let ... in` cannot be an operand without parentheses")
		if n.Open == nil {
			return n
		}
		n.Bindings = p.parseBindings(RBRACE, 2)
		p.check(4)
		n.Close = p.expect(RBRACE, "to close `let {`")
		return n
	}
	p.errorf(t, "expected an expression, found %s", describe(t))
	return &Bad{}
}

// parsePath parses a path, which Nix's parser holds as path_start, the
// interpolated parts so far (one item) and the part being parsed.
func (p *parser) parsePath() Expr {
	p.check(2) // path_start PATH_END
	n := &PathExpr{Parts: []StringPart{&Text{Tok: p.next()}}}
	end := n.Parts[0].(*Text).Tok.End()
	texts, interps := 0, 0
	for {
		t := p.cur()
		if t.Start != end || len(t.Leading) > 0 {
			break
		}
		switch t.Kind {
		case PATHTEXT:
			if interps == 0 {
				texts++
				if texts > 1 {
					p.errorf(t, "expected `${` in the path before %s", describe(t))
				}
			}
			p.check(3)
			n.Parts = append(n.Parts, &Text{Tok: p.next()})
		case INTERP:
			base := 1
			if interps > 0 || texts > 0 {
				base = 2
			}
			interps++
			n.Parts = append(n.Parts, p.parseInterpolation(base))
		default:
			goto done
		}
		end = p.toks[p.i-1].End()
	}
done:
	if texts > 0 && interps == 0 {
		p.errorf(n.Parts[len(n.Parts)-1], "expected `${` in the path, found the end of the path")
	}
	return n
}

// parseInterpolation parses ${ expr } with base items before the ${.
func (p *parser) parseInterpolation(base int) *Interpolation {
	p.check(base + 1)
	n := &Interpolation{Open: p.next()}
	p.enter(base + 1)
	n.X = p.sub()
	p.leave(base + 1)
	if c := p.got(RBRACE); c != nil {
		p.check(base + 3)
		n.Close = c
		return n
	}
	p.errorf(p.cur(), "expected `}` to close `${`, found %s", describe(p.cur()))
	// Skip to the matching }, which the scanner's state stack makes the
	// one that returns to the enclosing string or path.
	bad := &Bad{Elems: []Node{n.X}}
	depth := 0
	for {
		t := p.cur()
		switch t.Kind {
		case EOF:
			n.X = bad
			return n
		case LBRACE, INTERP:
			depth++
		case RBRACE:
			if depth == 0 {
				n.X = bad
				n.Close = p.next()
				return n
			}
			depth--
		}
		bad.Elems = append(bad.Elems, p.next())
	}
}

// parseString parses a string with base items before its opening quote.
// Nix's parser holds the quote, the parts so far (one item) and the part
// being parsed; a "..." string holds its first text with the
// interpolation that follows it.
func (p *parser) parseString(base int) *String {
	p.check(base + 1)
	n := p.strs.new()
	n.Open = p.next()
	closer := QUOTE
	ind := n.Open.Kind == INDOPEN
	if ind {
		closer = INDCLOSE
		p.check(base + 2) // the empty parts
	}
	parts, text := ind, false // parts: the parts so far are on the stack
	for {
		switch t := p.cur(); t.Kind {
		case STRTEXT, INDTEXT, INDESCAPE, INDLONE:
			if parts {
				p.check(base + 3)
			} else {
				p.check(base + 2)
				text = true
			}
			tx := p.texts.new()
			tx.Tok = p.next()
			n.Parts = append(n.Parts, tx)
		case INTERP:
			at := base + 1
			if parts || text {
				at = base + 2
			}
			n.Parts = append(n.Parts, p.parseInterpolation(at))
			parts = true
		case closer:
			p.check(base + 3)
			n.Close = p.next()
			return n
		case EOF:
			p.errorf(n.Open, "string not terminated: expected `%s` before the end of file", closer)
			return n
		default:
			// Only after a broken interpolation: the scanner is
			// still in code.
			p.errorf(t, "unexpected %s in string", describe(t))
			n.Parts = append(n.Parts, &Text{Tok: p.next()})
		}
	}
}

// ---- bindings ----

// parseBindings parses the bindings of a set or let whose opening takes
// base items of Nix's stack; the bindings so far take one more.
func (p *parser) parseBindings(closer Kind, base int) []Binding {
	start := len(p.bindStack)
	defer func() { p.bindStack = p.bindStack[:start] }()
	b1 := base + 1
	p.check(b1)
	for {
		bs := p.bindStack[start:]
		switch t := p.cur(); t.Kind {
		case closer, EOF:
			return keep(&p.bindChunk, bs)
		case INHERIT:
			b := p.parseInherit(b1)
			p.bindStack = append(p.bindStack, b)
		case IDENT, OR, QUOTE, INTERP:
			b := p.parseAttr(b1)
			p.bindStack = append(p.bindStack, b)
			for p.pending != nil {
				b := p.parseAttr(b1)
				p.bindStack = append(p.bindStack, b)
			}
		default:
			what := "an attribute name or `inherit`"
			p.errorf(t, "expected %s, found %s", what, describe(t))
			bad := &Bad{}
			for {
				k := p.cur().Kind
				if k == EOF || k == closer || k == RBRACE || (k == IN && closer == IN) {
					break
				}
				bad.Elems = append(bad.Elems, p.next())
				if k == SEMI {
					break
				}
			}
			if len(bad.Elems) == 0 {
				// A } in a let or an in in a set: take it, or
				// nothing moves.
				bad.Elems = append(bad.Elems, p.next())
			}
			p.bindStack = append(p.bindStack, bad)
		}
	}
}

// parseAttr parses name = value; with base items (the bindings so far
// included) before it.
func (p *parser) parseAttr(base int) Binding {
	n := p.attrs.new()
	n.Path = p.pending
	p.pending = nil
	if n.Path == nil {
		n.Path = p.parseAttrPath("", base)
	}
	name := pathText(n.Path)
	p.check(base + 2)
	n.Assign = p.expect(ASSIGN, "after `"+name+"`")
	if n.Assign == nil {
		n.Semi = p.got(SEMI)
		return n
	}
	p.enter(base + 2)
	n.Value = p.sub()
	p.leave(base + 2)
	if p.cur().Kind == ASSIGN {
		// name = value
		//   next.name = ...
		// reads as the application value next.name; when the argument
		// starts a new line and reads as an attribute path, the `;`
		// was forgotten: say so and take the argument back as the
		// path of the next binding.
		if app, ok := n.Value.(*Apply); ok && p.startsLine(app.Arg) {
			if ap := toAttrPath(app.Arg); ap != nil {
				p.errorf(app.Arg, "expected `;` after the value of `%s`, found %s", name, describe(firstToken(app.Arg)))
				n.Value = app.Fn
				p.pending = ap
				return n
			}
		}
	}
	p.check(base + 4)
	n.Semi = p.expect(SEMI, "after the value of `"+name+"`")
	return n
}

// startsLine reports whether n is preceded by a line break.
func (p *parser) startsLine(n Node) bool {
	t := firstToken(n)
	if t == nil {
		return false
	}
	for _, tr := range t.Leading {
		if tr.Kind == SPACE && strings.ContainsAny(tr.Text, "\n") {
			return true
		}
	}
	return false
}

// toAttrPath converts an expression that reads as an attribute path
// (a, a.b, "a".b) into one, keeping its tokens.
func toAttrPath(e Expr) *AttrPath {
	switch e := e.(type) {
	case *Ident:
		return &AttrPath{Names: []AttrName{e}}
	case *String:
		return &AttrPath{Names: []AttrName{e}}
	case *Select:
		if e.Or != nil || e.Path == nil {
			return nil
		}
		ap := toAttrPath(e.X)
		if ap == nil {
			return nil
		}
		ap.Dots = append(ap.Dots, e.Dot)
		ap.Names = append(ap.Names, e.Path.Names...)
		ap.Dots = append(ap.Dots, e.Path.Dots...)
		return ap
	}
	return nil
}

// parseInherit parses inherit names; or inherit (e) names; with base
// items (the bindings so far included) before it.
func (p *parser) parseInherit(base int) Binding {
	p.check(base + 1)
	n := &Inherit{Inherit: p.next()}
	names := base + 2 // binds INHERIT attrs
	if p.cur().Kind == LPAREN {
		p.check(base + 2)
		from := &Paren{Open: p.next()}
		p.enter(base + 2)
		from.X = p.sub()
		p.leave(base + 2)
		p.check(base + 4)
		from.Close = p.expect(RPAREN, "after the expression of `inherit (`")
		n.From = from
		names = base + 5
	}
	p.check(names)
	for {
		switch p.cur().Kind {
		case IDENT, OR:
			p.check(names + 1)
			n.Names = append(n.Names, p.ident(p.next()))
			continue
		case QUOTE:
			n.Names = append(n.Names, p.parseString(names))
			continue
		case INTERP:
			n.Names = append(n.Names, p.parseInterpolation(names))
			continue
		}
		break
	}
	p.check(names + 1)
	n.Semi = p.expect(SEMI, "after the names of `inherit`")
	return n
}

// parseAttrPath parses one or more attribute names joined by dots, with
// base items before it; Nix's parser holds the path so far and the dot
// while it parses a later name.
func (p *parser) parseAttrPath(context string, base int) *AttrPath {
	ap := p.paths.new()
	nbase, dbase := len(p.nameStack), len(p.dotStack)
	defer func() {
		ap.Names = keep(&p.nameChunk, p.nameStack[nbase:])
		ap.Dots = keep(&p.dotChunk, p.dotStack[dbase:])
		p.nameStack, p.dotStack = p.nameStack[:nbase], p.dotStack[:dbase]
	}()
	at := base
	for {
		var name AttrName
		switch p.cur().Kind {
		case IDENT, OR:
			p.check(at + 1)
			name = p.ident(p.next())
		case QUOTE:
			name = p.parseString(at)
		case INTERP:
			name = p.parseInterpolation(at)
		default:
			msg := "expected an attribute name"
			if len(p.nameStack) == nbase && context != "" {
				msg += " " + context
			} else if len(p.nameStack) > nbase {
				msg += " after `.`"
			}
			p.errorf(p.cur(), "%s, found %s", msg, describe(p.cur()))
			name = &Bad{}
		}
		p.nameStack = append(p.nameStack, name)
		if p.cur().Kind != DOT {
			return ap
		}
		at = base + 2
		p.check(at)
		p.dotStack = append(p.dotStack, p.next())
	}
}
