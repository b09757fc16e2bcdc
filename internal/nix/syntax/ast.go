package syntax

// A Node is an element of the syntax tree. Its range is half-open:
// [Pos(), End()). Nodes built by the constructors have no positions.
// The Node interface is closed: only this package implements it.
type Node interface {
	Pos() Pos
	End() Pos
	node()
}

// An Expr is a Nix expression.
type Expr interface {
	Node
	exprNode()
}

// A Binding is one entry of an attribute set or let: an *Attr, an
// *Inherit or a *Bad.
type Binding interface {
	Node
	bindingNode()
}

// An AttrName is one component of an attribute path: an *Ident (which may
// be the keyword or), a *String, an *Interpolation or a *Bad.
type AttrName interface {
	Node
	attrNameNode()
}

// A StringPart is a piece of a string or path: a *Text or an
// *Interpolation.
type StringPart interface {
	Node
	partNode()
}

// A File is a parsed Nix file: one expression and the trivia after it.
// A File is safe for concurrent reads once Parse has returned.
type File struct {
	Name string
	Src  []byte
	Expr Expr
	// EOF is the end-of-file token; its Leading holds the final trivia.
	EOF *Token

	lines []int // offsets of line starts
}

type (
	// An Ident is a variable reference or an attribute name. Tok is an
	// Ident token, or the keyword or where Nix allows it as a name.
	Ident struct{ Tok *Token }

	// An Int is an integer literal.
	Int struct{ Tok *Token }

	// A Float is a floating-point literal.
	Float struct{ Tok *Token }

	// A URI is an unquoted URI such as https://example.org, which Nix
	// reads as a string.
	URI struct{ Tok *Token }

	// A SearchPath is <nixpkgs>.
	SearchPath struct{ Tok *Token }

	// A PathExpr is a path, possibly interpolated: ./a, /a/b, ~/c,
	// ./${name}.nix. Parts[0] is a *Text holding the Path or HPath token;
	// later parts are PathText texts and interpolations.
	PathExpr struct {
		Parts []StringPart
		span
	}

	// A String is "..." or ''...''; Open is a Quote or IndOpen token.
	String struct {
		Open  *Token
		Parts []StringPart
		Close *Token
		span
	}

	// A Text is a literal piece of a string or path, escapes included as
	// written.
	Text struct{ Tok *Token }

	// An Interpolation is ${X}, in a string, a path or an attribute name.
	Interpolation struct {
		Open  *Token
		X     Expr
		Close *Token
		span
	}

	// A Paren is (X).
	Paren struct {
		Open  *Token
		X     Expr
		Close *Token
		span
	}

	// A List is [ Elems ].
	List struct {
		Open  *Token
		Elems []Expr
		Close *Token
		span
	}

	// An AttrSet is { Bindings } or, with Rec set, rec { Bindings }.
	AttrSet struct {
		Rec      *Token // nil unless recursive
		Open     *Token
		Bindings []Binding
		Close    *Token
		span
	}

	// A LegacyLet is let { Bindings }, which Nix reads as
	// (rec { Bindings }).body.
	LegacyLet struct {
		Let      *Token
		Open     *Token
		Bindings []Binding
		Close    *Token
		span
	}

	// A Let is let Bindings in Body.
	Let struct {
		Let      *Token
		Bindings []Binding
		In       *Token
		Body     Expr
		span
	}

	// An Attr is the binding Path = Value;.
	Attr struct {
		Path   *AttrPath
		Assign *Token
		Value  Expr
		Semi   *Token
		span
	}

	// An Inherit is inherit Names; or, with From set, inherit (X) Names;.
	Inherit struct {
		Inherit *Token
		From    *Paren // nil for a plain inherit
		Names   []AttrName
		Semi    *Token
		span
	}

	// An AttrPath is a.b."c".${d}. Dots has one dot between each pair of
	// names.
	AttrPath struct {
		Names []AttrName
		Dots  []*Token
		span
	}

	// A Select is X.Path, or X.Path or Default when Or is set.
	Select struct {
		X       Expr
		Dot     *Token
		Path    *AttrPath
		Or      *Token // nil without a default
		Default Expr
		span
	}

	// A HasAttr is X ? Path.
	HasAttr struct {
		X        Expr
		Question *Token
		Path     *AttrPath
		span
	}

	// An Apply is the application Fn Arg.
	Apply struct {
		Fn, Arg Expr
		span
	}

	// A Unary is !X or -X.
	Unary struct {
		Op *Token
		X  Expr
		span
	}

	// A Binary is X Op Y for every binary operator, the pipes included.
	Binary struct {
		X  Expr
		Op *Token
		Y  Expr
		span
	}

	// An If is if Cond then Then else Else.
	If struct {
		If      *Token
		Cond    Expr
		ThenTok *Token
		Then    Expr
		ElseTok *Token
		Else    Expr
		span
	}

	// An Assert is assert Cond; Body.
	Assert struct {
		Assert *Token
		Cond   Expr
		Semi   *Token
		Body   Expr
		span
	}

	// A With is with X; Body.
	With struct {
		With *Token
		X    Expr
		Semi *Token
		Body Expr
		span
	}

	// A Lambda is Param: Body, Formals: Body, or both joined by At. With
	// ParamFirst the source reads Param @ Formals, otherwise Formals @
	// Param.
	Lambda struct {
		Param      *Ident
		At         *Token
		Formals    *Formals
		ParamFirst bool
		Colon      *Token
		Body       Expr
		span
	}

	// Formals are the { a, b ? d, ... } of a lambda.
	Formals struct {
		Open  *Token
		Items []*Formal
		Close *Token
		span
	}

	// A Formal is one entry of Formals: Name, Name ? Default, or the
	// Ellipsis; Comma is the comma after it, if any.
	Formal struct {
		Name     *Ident
		Ellipsis *Token
		Question *Token
		Default  Expr
		Comma    *Token
		span
	}

	// A Bad holds source the parser could not place: the tokens and nodes
	// in source order. It stands in for an expression, binding or name.
	Bad struct {
		Elems []Node
		span
	}
)

func (*File) node()          {}
func (*Token) node()         {}
func (*Ident) node()         {}
func (*Int) node()           {}
func (*Float) node()         {}
func (*URI) node()           {}
func (*SearchPath) node()    {}
func (*PathExpr) node()      {}
func (*String) node()        {}
func (*Text) node()          {}
func (*Interpolation) node() {}
func (*Paren) node()         {}
func (*List) node()          {}
func (*AttrSet) node()       {}
func (*LegacyLet) node()     {}
func (*Let) node()           {}
func (*Attr) node()          {}
func (*Inherit) node()       {}
func (*AttrPath) node()      {}
func (*Select) node()        {}
func (*HasAttr) node()       {}
func (*Apply) node()         {}
func (*Unary) node()         {}
func (*Binary) node()        {}
func (*If) node()            {}
func (*Assert) node()        {}
func (*With) node()          {}
func (*Lambda) node()        {}
func (*Formals) node()       {}
func (*Formal) node()        {}
func (*Bad) node()           {}

func (*Ident) exprNode()      {}
func (*Int) exprNode()        {}
func (*Float) exprNode()      {}
func (*URI) exprNode()        {}
func (*SearchPath) exprNode() {}
func (*PathExpr) exprNode()   {}
func (*String) exprNode()     {}
func (*Paren) exprNode()      {}
func (*List) exprNode()       {}
func (*AttrSet) exprNode()    {}
func (*LegacyLet) exprNode()  {}
func (*Let) exprNode()        {}
func (*Select) exprNode()     {}
func (*HasAttr) exprNode()    {}
func (*Apply) exprNode()      {}
func (*Unary) exprNode()      {}
func (*Binary) exprNode()     {}
func (*If) exprNode()         {}
func (*Assert) exprNode()     {}
func (*With) exprNode()       {}
func (*Lambda) exprNode()     {}
func (*Bad) exprNode()        {}

func (*Attr) bindingNode()    {}
func (*Inherit) bindingNode() {}
func (*Bad) bindingNode()     {}

func (*Ident) attrNameNode()         {}
func (*String) attrNameNode()        {}
func (*Interpolation) attrNameNode() {}
func (*Bad) attrNameNode()           {}

func (*Text) partNode()          {}
func (*Interpolation) partNode() {}

// Pos returns the position of the token.
func (t *Token) Pos() Pos {
	if t == nil {
		return NoPos
	}
	return t.Start
}
