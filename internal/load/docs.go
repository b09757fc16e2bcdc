package load

import (
	"path"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/merge"
)

// A docIndex holds what the user's files declare, by path, read once from
// their syntax: each field's doc comments, where it is declared, and the
// regular fields of each struct. The merge's decoder walks it alongside
// the CUE values (merge.Syntax).
//
// cue.Value.Doc finds a field's comments by walking every declaration of
// every field around it. A fleet that declares each host with a line of
// its own (`hosts: name: {...}`) gives `hosts` one declaration per host,
// so asking for the comments of every field of every host was quadratic:
// 37 of the 60 CPU seconds of loading 1000 hosts. The index answers from
// the syntax for the paths it sees completely, and says when it cannot
// (a comprehension, an embedding, a dynamic label or a reference may add
// declarations it does not see), so that the caller asks CUE then.
type docIndex struct {
	root docNode
}

// A docNode is a path of the fleet package as its files declare it.
type docNode struct {
	// docs are the doc comments on the node's declarations, in file
	// order; a comment heading a shorthand chain (`a: b: c: 1`) belongs
	// to its innermost field, as CUE has it.
	docs []*ast.CommentGroup
	// fields are the node's fields with a static label.
	fields map[string]*docNode
	// decls counts the fields that declare the node, and label is where
	// the first one's label is.
	decls int
	label token.Pos
	// literal says the first declaration's value is a literal (a string,
	// number, list or struct).
	literal bool
	// names are the node's regular fields, in the order first declared;
	// irregular says some field is not regular (a definition, a hidden
	// field, an optional or required field), and names then do not say
	// which fields the value has.
	names     []string
	irregular bool
	// open says that something the index cannot follow declares fields
	// of the node or gives it a value: then neither its fields nor its
	// own comments are known completely.
	open bool
}

func (n *docNode) child(name string) *docNode {
	if n.fields == nil {
		n.fields = map[string]*docNode{}
	}
	c := n.fields[name]
	if c == nil {
		c = &docNode{}
		n.fields[name] = c
	}
	return c
}

// newDocIndex indexes files, each once however many instances hold it.
func newDocIndex(files []*ast.File) *docIndex {
	x := &docIndex{}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Filename] {
			continue
		}
		seen[f.Filename] = true
		imports := map[string]bool{}
		for spec := range f.ImportSpecs() {
			name := ""
			if spec.Name != nil {
				name = spec.Name.Name
			} else if p, err := strconv.Unquote(spec.Path.Value); err == nil {
				p, _, _ = strings.Cut(p, "@")
				name = path.Base(p)
				if i := strings.LastIndexByte(name, ':'); i >= 0 {
					name = name[i+1:]
				}
			}
			imports[name] = true
		}
		x.decls(&x.root, f.Decls, false, imports)
	}
	return x
}

// decls indexes the declarations of a struct (or file) into n. cond says
// they are inside a comprehension: what they declare exists only when it
// yields, so every node they reach is open.
func (x *docIndex) decls(n *docNode, decls []ast.Decl, cond bool, imports map[string]bool) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			x.field(n, d, nil, cond, imports)
		case *ast.EmbedDecl:
			x.value(n, d.Expr, cond, imports)
		case *ast.Comprehension:
			if s, ok := d.Value.(*ast.StructLit); ok {
				x.decls(n, s.Elts, true, imports)
			} else {
				n.open = true
			}
		case *ast.Package, *ast.ImportDecl, *ast.LetClause, *ast.Attribute, *ast.CommentGroup, *ast.BadDecl:
		default:
			n.open = true
		}
	}
}

// field indexes the field f of n. inherited are the comments of the
// shorthand fields around f, which CUE gives the innermost field.
func (x *docIndex) field(n *docNode, f *ast.Field, inherited []*ast.CommentGroup, cond bool, imports map[string]bool) {
	name, ident, err := ast.LabelName(f.Label)
	if err != nil {
		// A dynamic label or a pattern constraint.
		n.open = true
		return
	}
	if _, seen := n.fields[name]; !seen {
		n.names = append(n.names, name)
	}
	if f.Constraint != token.ILLEGAL || ident && (strings.HasPrefix(name, "#") || strings.HasPrefix(name, "_")) {
		n.irregular = true
	}
	c := n.child(name)
	c.open = c.open || cond
	if c.decls == 0 {
		c.label = f.Label.Pos()
		switch f.Value.(type) {
		case *ast.BasicLit, *ast.ListLit, *ast.StructLit:
			c.literal = true
		}
	}
	c.decls++
	docs := append([]*ast.CommentGroup(nil), inherited...)
	for _, cg := range ast.Comments(f) {
		if cg.Doc {
			docs = append(docs, cg)
		}
	}
	if inner := shorthand(f); inner != nil {
		x.field(c, inner, docs, cond, imports)
		return
	}
	c.docs = append(c.docs, docs...)
	x.value(c, f.Value, cond, imports)
}

// value indexes the value e given to n.
func (x *docIndex) value(n *docNode, e ast.Expr, cond bool, imports map[string]bool) {
	switch e := e.(type) {
	case *ast.StructLit:
		x.decls(n, e.Elts, cond, imports)
	case *ast.BinaryExpr:
		if e.Op.String() != "&" {
			n.open = true
			return
		}
		x.value(n, e.X, cond, imports)
		x.value(n, e.Y, cond, imports)
	case *ast.ParenExpr:
		x.value(n, e.X, cond, imports)
	case *ast.BasicLit, *ast.Interpolation, *ast.ListLit, *ast.UnaryExpr, *ast.BottomLit:
		// Data without fields of its own.
	case *ast.SelectorExpr:
		// A definition of an imported package (schema.#Fleet) declares
		// nothing in the user's files.
		if id, ok := e.X.(*ast.Ident); !ok || !imports[id.Name] {
			n.open = true
		}
	default:
		n.open = true
	}
}

// shorthand returns the single field of f's value when f is written as a
// shorthand (`a: b: 1`), as CUE decides where its comments belong.
func shorthand(f *ast.Field) *ast.Field {
	s, ok := f.Value.(*ast.StructLit)
	if !ok || len(s.Elts) != 1 || s.Lbrace.IsValid() || s.Rbrace.IsValid() {
		return nil
	}
	inner, ok := s.Elts[0].(*ast.Field)
	if !ok {
		return nil
	}
	if _, _, err := ast.LabelName(inner.Label); err != nil {
		return nil
	}
	return inner
}

// lookup returns the node of v's path, and false when the index cannot
// tell (the path, or a field around it, is open).
func (x *docIndex) lookup(v cue.Value) (*docNode, bool) {
	n := &x.root
	for _, sel := range v.Path().Selectors() {
		if n.open {
			return nil, false
		}
		var name string
		switch sel.LabelType() {
		case cue.StringLabel:
			name = sel.Unquoted()
		case cue.DefinitionLabel, cue.HiddenLabel, cue.HiddenDefinitionLabel:
			name = sel.String()
		default:
			return nil, false
		}
		if n = n.fields[name]; n == nil {
			return nil, false
		}
	}
	if n.open {
		return nil, false
	}
	return n, true
}

// syntax returns what the index knows of v, for the merge's decoder, or
// nil.
func (x *docIndex) syntax(v cue.Value) merge.Syntax {
	if n, ok := x.lookup(v); ok {
		return n
	}
	return nil
}

// Field returns the node of the field name, or nil when the index cannot
// tell (n is open, or declares no such field).
func (n *docNode) Field(name string) merge.Syntax {
	if n.open {
		return nil
	}
	if c := n.fields[name]; c != nil {
		return c
	}
	return nil
}

// Documented reports whether a declaration of n has a doc comment.
func (n *docNode) Documented() (bool, bool) {
	if n.open {
		return false, false
	}
	return len(n.docs) > 0, true
}

// Names returns the regular fields of n, in the order the user's files
// first declare them, when the syntax tells them all. The layers' partial
// schemas add no regular fields, so these are the fields cue.Value.Fields
// lists.
func (n *docNode) Names() ([]string, bool) {
	if n.open || n.irregular {
		return nil, false
	}
	return n.names, true
}

// Decl returns where n is declared, as userPos finds it, when it has one
// declaration.
func (n *docNode) Decl() (token.Pos, bool) {
	if n.open || n.decls != 1 {
		return token.NoPos, false
	}
	return n.label, true
}

// Pos returns where the leaf v of n is written, as userPos finds it,
// when n has one declaration and its value is a literal. userPos asks
// CUE for v's conjuncts, under a global lock (exprMu), when v's own
// position is the schema's (a list or a marker the schema constrains, a
// field it gives a default); that conjunct is then n's one declaration,
// and CUE places it at the field's label.
func (n *docNode) Pos(v cue.Value) (token.Pos, bool) {
	if conjunctPositions || n.open || n.decls != 1 || !n.literal {
		return token.NoPos, false
	}
	if p, ok := ownPos(v); ok {
		return p, true
	}
	return n.label, true
}

// conjunctPositions makes the entries' positions come from CUE's
// conjuncts (userPos) wherever the syntax would answer them: the
// reference the tests compare the syntax's answers with.
var conjunctPositions = false

// declPos returns where the field v is declared in the user's files, as
// userPos does, from the syntax when the field has one declaration.
func (x *docIndex) declPos(v cue.Value) token.Pos {
	if n, ok := x.lookup(v); ok {
		if p, ok := n.Decl(); ok {
			return p
		}
	}
	return userPos(v)
}

// lines returns the doc comment of v's declarations in the user's files,
// as lines of text.
func (x *docIndex) lines(v cue.Value) []string {
	n, ok := x.lookup(v)
	if !ok {
		return docLines(v)
	}
	var out []string
	seen := map[string]bool{}
	for _, g := range n.docs {
		// CUE's own extraction drops a comment repeated word for word.
		text := strings.TrimRight(g.Text(), "\n")
		if text != "" && !seen[text] {
			seen[text] = true
			out = append(out, strings.Split(text, "\n")...)
		}
	}
	return out
}
