// Package format prints Nix syntax trees in fleet's one canonical layout,
// which follows the standard Nix format of RFC 166 (the style of nixfmt,
// which Nixpkgs uses): two-space indentation, lines up to 100 columns,
// one binding per line in expanded sets, the operator leading a broken
// line, `with e; [` kept on the line of its binding, comments kept where
// they were, and empty lines kept, several in a row becoming one.
//
// Like go/format it has no options. Formatting changes only whitespace:
// the tokens and their order are kept, so the formatted file means what
// the input meant, and formatting is idempotent.
//
// Indentation stops growing after maxIndent levels, which no file people
// write reaches: it keeps the output of deeply nested input (Nix parses
// 9,995 nested parentheses) from growing with the square of its depth.
package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// Source formats the Nix source src. It fails when src does not parse
// (an undefined variable, which Nix reports, does not stop it);
// the error is the parser's diag.List.
func Source(src []byte) ([]byte, error) {
	f, errs := syntax.Parse("", src)
	for _, e := range errs {
		// An undefined variable is Nix's error, not the grammar's: the
		// file can still be laid out.
		if e.Code != syntax.UndefinedVariable {
			return nil, errs
		}
	}
	var b bytes.Buffer
	if err := Node(&b, f); err != nil {
		return nil, err
	}
	if err := Verify(f, b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrChanged is the error of a layout that would change what a file
// says: a fault of the formatter's, never of the input.
var ErrChanged = errors.New("internal error: the formatted text would not mean what the input meant")

// Verify checks the promise formatting makes: out, the layout of f,
// parses to the same tokens in the same order (comments aside), so it
// means what f meant. Printed side by side, two tokens can lex as one
// (- and ./a are the path -./a); the layout keeps such tokens apart, and
// Verify is the guard that it did. The error wraps ErrChanged and names
// the first token that differs.
func Verify(f *syntax.File, out []byte) error {
	again, errs := syntax.Parse("", out)
	for _, e := range errs {
		if e.Code != syntax.UndefinedVariable {
			return fmt.Errorf("%w: it does not parse: %s", ErrChanged, e.Summary)
		}
	}
	// Both token lists end in the file's one end-of-file token, so lists
	// of different lengths differ at some index too.
	var want []*syntax.Token
	syntax.Tokens(f, func(t *syntax.Token) { want = append(want, t) })
	i := 0
	var bad error
	syntax.Tokens(again, func(t *syntax.Token) {
		if bad == nil && (t.Kind != want[i].Kind || t.Text != want[i].Text) {
			bad = fmt.Errorf("%w: %s became %s", ErrChanged, describe(want[i]), describe(t))
		}
		i++
	})
	return bad
}

// Node writes n in canonical layout: a *syntax.File ends with a newline,
// other nodes do not. Trees built by the syntax constructors have no
// source layout to keep; their sets and formals expand when they have
// more than one entry. Node fails on trees holding syntax errors.
func Node(w io.Writer, n syntax.Node) error {
	bad := false
	syntax.Inspect(n, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.Bad); ok {
			bad = true
		}
		return !bad
	})
	if bad {
		return errors.New("format: the tree has syntax errors")
	}
	f := &formatter{}
	var d doc
	switch n := n.(type) {
	case *syntax.File:
		f.file = n
		f.blankNext = true // after the file's first comments
		if n.Expr == nil {
			return errors.New("format: empty file")
		}
		d = cat(f.expr(n.Expr), f.tok(n.EOF, false), hardline)
	case syntax.Expr:
		d = f.expr(n)
	default:
		return errors.New("format: can only format files and expressions")
	}
	if f.err != nil {
		return f.err
	}
	p := &printer{}
	p.print(d, 0, false)
	out := p.b.String()
	if _, ok := n.(*syntax.File); ok {
		out = strings.TrimLeft(out, "\n") + "\n"
		out = strings.TrimRight(out, "\n") + "\n"
	}
	_, err := io.WriteString(w, out)
	return err
}

type formatter struct {
	err     error
	started bool // a token or comment has been rendered
	// blankNext allows an empty line before the next token rendered,
	// where the source had one: the start of an item (a binding, a list
	// element, a function's body).
	blankNext bool
	// hug keeps the body of the with or assert rendered next on its
	// line: it is a binding's value, and bracketed.
	hug bool
	// skipLead is a token whose comments are not rendered: the first
	// token of a region laid out alone, whose comments stay in place.
	skipLead *syntax.Token
	// file is the parsed file being formatted, if any, whose line table
	// tells cheaply whether a node spans lines.
	file *syntax.File
}

// tok renders a token with the comments before it. blank allows a blank
// line before the token when the source had one.
func (f *formatter) tok(t *syntax.Token, blank bool) doc {
	lead, tt := f.split(t, blank)
	return cat(lead, tt)
}

// split renders the comments before t and t itself separately, so that a
// closing token's comments can be indented with the entries before it.
// Comments that had a line break before them keep a line of their own
// (with a blank line before when the source had one); the others stay at
// the end of the line they followed.
func (f *formatter) split(t *syntax.Token, blank bool) (leadDoc, doc) {
	blank = blank || f.blankNext
	f.blankNext = false
	if t == nil {
		if f.err == nil {
			f.err = errors.New("format: the tree has a missing token")
		}
		return nil, nil
	}
	var ds leadDoc
	newlines := 0
	leading := t.Leading
	if t == f.skipLead {
		leading = nil
	}
	for i, tr := range leading {
		switch tr.Kind {
		case syntax.SPACE:
			newlines += strings.Count(tr.Text, "\n")
		case syntax.LINECOMMENT, syntax.BLOCKCOMMENT:
			c := strings.TrimRight(tr.Text, " \t\r")
			ownLine := newlines > 0 || !f.started
			if ownLine {
				ds = append(ds, hardDoc{blank: newlines > 1 && f.started}, text(c))
				if tr.Kind == syntax.LINECOMMENT || i+1 < len(leading) && strings.Contains(leading[i+1].Text, "\n") {
					ds = append(ds, hardline)
				} else {
					ds = append(ds, spaceDoc{})
				}
			} else {
				ds = append(ds, trailDoc(c))
				if tr.Kind == syntax.LINECOMMENT {
					ds = append(ds, hardline)
				}
			}
			f.started = true
			newlines = 0
		}
	}
	if blank && newlines > 1 {
		ds = append(ds, hardDoc{blank: true})
	}
	f.started = true
	if t.Text == "" {
		return ds, nil
	}
	return ds, text(t.Text)
}

// closing renders the closing token of a bracketed construct: its
// comments go inside, with the entries.
func (f *formatter) closing(t *syntax.Token) (inner, tok doc) {
	lead, tt := f.split(t, true)
	if len(lead) == 0 {
		return nil, tt
	}
	return lead, tt
}

// multiline reports whether the source of n between its first and last
// token spans lines, and whether n has source positions at all.
func (f *formatter) multiline(n syntax.Node) (multi, positioned bool) {
	if start, end := n.Pos(), n.End(); f.file != nil && start.IsValid() && end.IsValid() {
		return f.file.Position(start).Line != f.file.Position(end).Line, true
	}
	first := true
	syntax.Tokens(n, func(t *syntax.Token) {
		if t.Pos().IsValid() {
			positioned = true
		}
		if !first {
			for _, tr := range t.Leading {
				if strings.IndexByte(tr.Text, '\n') >= 0 || tr.Kind == syntax.LINECOMMENT {
					multi = true
				}
			}
		}
		first = false
		if strings.IndexByte(t.Text, '\n') >= 0 {
			multi = true
		}
	})
	return multi, positioned
}

// expand decides whether a bracketed construct is laid out one entry per
// line regardless of width: when the source had it on several lines, or,
// for built trees, when it has more than one entry.
func (f *formatter) expand(n syntax.Node, entries int) bool {
	multi, positioned := f.multiline(n)
	if positioned {
		return multi
	}
	return multi || entries > 1
}

func (f *formatter) expr(e syntax.Expr) doc {
	switch e := e.(type) {
	case *syntax.Ident:
		return f.tok(e.Tok, false)
	case *syntax.Int:
		return f.tok(e.Tok, false)
	case *syntax.Float:
		return f.tok(e.Tok, false)
	case *syntax.URI:
		return f.tok(e.Tok, false)
	case *syntax.SearchPath:
		return f.tok(e.Tok, false)
	case *syntax.PathExpr:
		var ds []doc
		for _, p := range e.Parts {
			ds = append(ds, f.part(p))
		}
		return ds
	case *syntax.String:
		ds := []doc{f.tok(e.Open, false)}
		for _, p := range e.Parts {
			ds = append(ds, f.part(p))
		}
		return append(ds, f.tok(e.Close, false))
	case *syntax.Paren:
		return group(false, f.tok(e.Open, false), nest(softline, f.expr(e.X)), softline, f.tok(e.Close, false))
	case *syntax.List:
		if len(e.Elems) == 0 {
			// Its own group, so an empty list stays [ ] inside an
			// expanded parent.
			return group(false, f.tok(e.Open, false), line, f.tok(e.Close, false))
		}
		open := f.tok(e.Open, false)
		var items []doc
		for _, x := range e.Elems {
			items = append(items, line, f.item(x))
		}
		inner, closeTok := f.closing(e.Close)
		return group(f.expand(e, len(e.Elems)), open, nest(append(items, inner)...), line, closeTok)
	case *syntax.AttrSet:
		var ds []doc
		if e.Rec != nil {
			ds = append(ds, f.tok(e.Rec, false), text(" "))
		}
		return append(ds, f.bindings(e, e.Open, e.Bindings, e.Close))
	case *syntax.LegacyLet:
		return cat(f.tok(e.Let, false), text(" "), f.bindings(e, e.Open, e.Bindings, e.Close))
	case *syntax.Let:
		letDoc := f.tok(e.Let, false)
		var items []doc
		for _, b := range e.Bindings {
			items = append(items, hardline, f.binding(b))
		}
		inner, inTok := f.closing(e.In)
		return cat(letDoc, nest(append(items, inner)...), hardline, inTok, hardline, f.body(e.Body))
	case *syntax.Select:
		ds := []doc{f.expr(e.X), f.tok(e.Dot, false), f.attrPath(e.Path)}
		if gluesToDot(e.X) {
			ds = []doc{ds[0], text(" "), ds[1], ds[2]}
		}
		if e.Or != nil {
			ds = append(ds, text(" "), f.tok(e.Or, false), text(" "), f.expr(e.Default))
		}
		return ds
	case *syntax.HasAttr:
		return cat(f.expr(e.X), text(" "), f.tok(e.Question, false), text(" "), f.attrPath(e.Path))
	case *syntax.Apply:
		return f.apply(e)
	case *syntax.Unary:
		if e.Op.Kind == syntax.MINUS && syntax.FirstToken(e.X).Kind == syntax.PATH {
			// -./a would be the path "-./a".
			return cat(f.tok(e.Op, false), text(" "), f.expr(e.X))
		}
		return cat(f.tok(e.Op, false), f.expr(e.X))
	case *syntax.Binary:
		return f.binary(e)
	case *syntax.If:
		return f.ifElse(e, false)
	case *syntax.Assert:
		hug := f.hug
		f.hug = false
		head := cat(f.tok(e.Assert, false), text(" "), f.expr(e.Cond), f.tok(e.Semi, false))
		if hug {
			return cat(head, text(" "), f.expr(e.Body))
		}
		return cat(head, hardline, f.body(e.Body))
	case *syntax.With:
		hug := f.hug
		f.hug = false
		head := cat(f.tok(e.With, false), text(" "), f.expr(e.X), f.tok(e.Semi, false))
		if hug {
			return cat(head, text(" "), f.expr(e.Body))
		}
		return group(false, head, line, f.body(e.Body))
	case *syntax.Lambda:
		return f.lambda(e)
	}
	if f.err == nil {
		f.err = errors.New("format: cannot format this expression")
	}
	return nil
}

// ifElse lays out if-then-else; a chain of else-ifs is always broken,
// one branch per line.
func (f *formatter) ifElse(e *syntax.If, force bool) doc {
	elif, chain := e.Else.(*syntax.If)
	ds := []doc{f.tok(e.If, false), text(" "), f.expr(e.Cond), text(" "), f.tok(e.ThenTok, false),
		nest(line, f.expr(e.Then)), line, f.tok(e.ElseTok, false)}
	if chain {
		ds = append(ds, text(" "), f.ifElse(elif, true))
		return group(true, ds...)
	}
	ds = append(ds, nest(line, f.expr(e.Else)))
	return group(force, ds...)
}

// item renders a list element, allowing a blank line before it.
func (f *formatter) item(x syntax.Expr) doc {
	return f.withBlank(x, func() doc { return f.expr(x) })
}

// withBlank renders n allowing an empty line before it, or before or
// after the comments before it, where the source had one.
func (f *formatter) withBlank(n syntax.Node, render func() doc) doc {
	f.blankNext = true
	return render()
}

func (f *formatter) part(p syntax.StringPart) doc {
	switch p := p.(type) {
	case *syntax.Text:
		return f.tok(p.Tok, false)
	case *syntax.Interpolation:
		return cat(f.tok(p.Open, false), f.expr(p.X), f.tok(p.Close, false))
	}
	return nil
}

func (f *formatter) bindings(n syntax.Node, open *syntax.Token, bs []syntax.Binding, close *syntax.Token) doc {
	if len(bs) == 0 {
		// Its own group, so an empty set stays { } inside an expanded
		// parent.
		return group(false, f.tok(open, false), line, f.tok(close, false))
	}
	openDoc := f.tok(open, false)
	var items []doc
	for _, b := range bs {
		items = append(items, line, f.binding(b))
	}
	inner, closeTok := f.closing(close)
	return group(f.expand(n, len(bs)), openDoc, nest(append(items, inner)...), line, closeTok)
}

func (f *formatter) binding(b syntax.Binding) doc {
	return f.withBlank(b, func() doc {
		switch b := b.(type) {
		case *syntax.Attr:
			head := cat(f.attrPath(b.Path), text(" "), f.tok(b.Assign, false))
			if hugs(b.Value) {
				// foo = with bar; [ … keeps the with on this line
				// (RFC 166); elsewhere its body starts a line.
				switch b.Value.(type) {
				case *syntax.With, *syntax.Assert:
					f.hug = true
				}
				return cat(head, text(" "), f.expr(b.Value), f.tok(b.Semi, false))
			}
			return cat(group(false, head, nest(line, f.expr(b.Value))), f.tok(b.Semi, false))
		case *syntax.Inherit:
			ds := []doc{f.tok(b.Inherit, false)}
			if b.From != nil {
				ds = append(ds, text(" "), f.expr(b.From))
			}
			var names []doc
			for _, n := range b.Names {
				names = append(names, line, f.attrName(n))
			}
			ds = append(ds, nest(names...), f.tok(b.Semi, false))
			return group(false, ds...)
		}
		if f.err == nil {
			f.err = errors.New("format: cannot format this binding")
		}
		return nil
	})
}

func (f *formatter) attrName(n syntax.AttrName) doc {
	switch n := n.(type) {
	case *syntax.Ident:
		return f.tok(n.Tok, false)
	case *syntax.String:
		return f.expr(n)
	case *syntax.Interpolation:
		return f.part(n)
	}
	if f.err == nil {
		f.err = errors.New("format: cannot format this attribute name")
	}
	return nil
}

func (f *formatter) attrPath(ap *syntax.AttrPath) doc {
	var ds []doc
	for i, n := range ap.Names {
		if i > 0 {
			ds = append(ds, f.tok(ap.Dots[i-1], false))
		}
		ds = append(ds, f.attrName(n))
	}
	return ds
}

// hugs reports whether e may start on the line of what precedes it and
// break inside itself: bracketed and multi-line forms.
func hugs(e syntax.Expr) bool {
	if bracketed(e) {
		return true
	}
	switch e := e.(type) {
	case *syntax.LegacyLet:
		return true
	case *syntax.Lambda:
		return e.Param != nil && e.Formals == nil
	case *syntax.With:
		return bracketed(e.Body)
	case *syntax.Assert:
		return bracketed(e.Body)
	case *syntax.Binary:
		k := e.Op.Kind
		return (k == syntax.UPDATE || k == syntax.CONCAT || k == syntax.PLUS) && hugs(e.Y)
	case *syntax.Apply:
		// f x { ... } hugs its last argument, with at most four
		// arguments.
		args := 1
		for a, ok := e.Fn.(*syntax.Apply); ok && args <= 4; a, ok = a.Fn.(*syntax.Apply) {
			args++
		}
		return hugs(e.Arg) && args <= 4
	}
	return false
}

// bracketed reports whether e is a set, a list, a parenthesized
// expression or an indented string: the bodies that RFC 166 keeps on the
// line of a with or assert.
func bracketed(e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.AttrSet, *syntax.List, *syntax.Paren:
		return true
	case *syntax.String:
		return e.Open.Kind == syntax.INDOPEN
	}
	return false
}

func (f *formatter) apply(e *syntax.Apply) doc {
	var args []syntax.Expr
	var fn syntax.Expr = e
	for {
		a, ok := fn.(*syntax.Apply)
		if !ok {
			break
		}
		args = append(args, a.Arg)
		fn = a.Fn
	}
	for i, j := 0, len(args)-1; i < j; i, j = i+1, j-1 {
		args[i], args[j] = args[j], args[i]
	}
	last := args[len(args)-1]
	allHug := true
	for _, a := range args {
		allHug = allHug && hugs(a)
	}
	if allHug {
		ds := []doc{f.expr(fn)}
		for _, a := range args {
			ds = append(ds, text(" "), f.expr(a))
		}
		return ds
	}
	if hugs(last) {
		var head []doc
		for _, a := range args[:len(args)-1] {
			head = append(head, line, f.expr(a))
		}
		return cat(group(false, f.expr(fn), nest(head...)), text(" "), f.expr(last))
	}
	var rest []doc
	for _, a := range args {
		rest = append(rest, line, f.expr(a))
	}
	return group(false, f.expr(fn), nest(rest...))
}

func (f *formatter) binary(e *syntax.Binary) doc {
	// Operator chains keep their tree shape; only the layout is shared.
	ds := []doc{f.expr(e.X)}
	y := f.expr(e.Y)
	if hugs(e.Y) && (e.Op.Kind == syntax.UPDATE || e.Op.Kind == syntax.CONCAT || e.Op.Kind == syntax.PLUS) {
		return cat(group(false, ds...), text(" "), f.tok(e.Op, false), text(" "), y)
	}
	return group(false, cat(ds...), nest(line, f.tok(e.Op, false), text(" "), y))
}

func (f *formatter) lambda(e *syntax.Lambda) doc {
	var head []doc
	formals := func() {
		if e.Formals != nil {
			head = append(head, f.formals(e.Formals))
		}
	}
	param := func() {
		if e.Param != nil {
			head = append(head, f.tok(e.Param.Tok, false))
		}
	}
	if e.Formals == nil || e.ParamFirst {
		param()
		if e.At != nil {
			head = append(head, f.tok(e.At, false))
		}
		formals()
	} else {
		formals()
		if e.At != nil {
			head = append(head, f.tok(e.At, false))
		}
		param()
	}
	head = append(head, f.tok(e.Colon, false))
	if e.Formals == nil {
		// x: body, and x: y: body chains
		return cat(cat(head...), text(" "), f.expr(e.Body))
	}
	return cat(cat(head...), group(false, line, f.body(e.Body)))
}

// body renders the body of a function, let, with or assert that starts a
// line of its own, keeping an empty line before it.
func (f *formatter) body(e syntax.Expr) doc {
	f.blankNext = true
	return f.expr(e)
}

func (f *formatter) formals(fs *syntax.Formals) doc {
	if len(fs.Items) == 0 {
		return group(false, f.tok(fs.Open, false), line, f.tok(fs.Close, false))
	}
	openDoc := f.tok(fs.Open, false)
	var items []doc
	for _, it := range fs.Items {
		var d []doc
		if it.Ellipsis != nil {
			d = append(d, f.tok(it.Ellipsis, false))
		} else {
			d = append(d, f.tok(it.Name.Tok, false))
			if it.Question != nil {
				d = append(d, text(" "), f.tok(it.Question, false), text(" "), f.expr(it.Default))
			}
		}
		if it.Comma != nil {
			d = append(d, f.tok(it.Comma, false))
		}
		items = append(items, line, cat(d...))
	}
	inner, closeTok := f.closing(fs.Close)
	return group(f.expand(fs, len(fs.Items)), openDoc, nest(append(items, inner)...), line, closeTok)
}

// gluesToDot reports whether a dot and name right after x would extend
// x's last token: a path (./a.b and ./a/${b}.c are one path each), a URI
// or a number (1.b is the float 1. and b). Such a selection is printed
// with a space before its dot.
func gluesToDot(x syntax.Expr) bool {
	if _, ok := x.(*syntax.PathExpr); ok {
		return true
	}
	switch syntax.LastToken(x).Kind {
	case syntax.URILIT, syntax.INT, syntax.FLOAT:
		return true
	}
	return false
}

// describe names a token in Verify's error: its kind and text, or only
// its text when that is all its kind says ("(").
func describe(t *syntax.Token) string {
	switch k := t.Kind.String(); {
	case t.Kind == syntax.EOF:
		return k
	case k == t.Text:
		return fmt.Sprintf("%q", t.Text)
	default:
		return fmt.Sprintf("%s %q", k, t.Text)
	}
}
