package syntax

// children calls f for each direct child of n in source order, tokens
// included, skipping missing (nil) ones.
func children(n Node, f func(Node)) {
	tok := func(t *Token) {
		if t != nil {
			f(t)
		}
	}
	node := func(c Node) {
		if c != nil && !isNil(c) {
			f(c)
		}
	}
	switch n := n.(type) {
	case *File:
		node(n.Expr)
		tok(n.EOF)
	case *Token:
	case *Ident:
		tok(n.Tok)
	case *Int:
		tok(n.Tok)
	case *Float:
		tok(n.Tok)
	case *URI:
		tok(n.Tok)
	case *SearchPath:
		tok(n.Tok)
	case *Text:
		tok(n.Tok)
	case *PathExpr:
		for _, p := range n.Parts {
			node(p)
		}
	case *String:
		tok(n.Open)
		for _, p := range n.Parts {
			node(p)
		}
		tok(n.Close)
	case *Interpolation:
		tok(n.Open)
		node(n.X)
		tok(n.Close)
	case *Paren:
		tok(n.Open)
		node(n.X)
		tok(n.Close)
	case *List:
		tok(n.Open)
		for _, e := range n.Elems {
			node(e)
		}
		tok(n.Close)
	case *AttrSet:
		tok(n.Rec)
		tok(n.Open)
		for _, b := range n.Bindings {
			node(b)
		}
		tok(n.Close)
	case *LegacyLet:
		tok(n.Let)
		tok(n.Open)
		for _, b := range n.Bindings {
			node(b)
		}
		tok(n.Close)
	case *Let:
		tok(n.Let)
		for _, b := range n.Bindings {
			node(b)
		}
		tok(n.In)
		node(n.Body)
	case *Attr:
		if n.Path != nil {
			node(n.Path)
		}
		tok(n.Assign)
		node(n.Value)
		tok(n.Semi)
	case *Inherit:
		tok(n.Inherit)
		if n.From != nil {
			node(n.From)
		}
		for _, a := range n.Names {
			node(a)
		}
		tok(n.Semi)
	case *AttrPath:
		for i, a := range n.Names {
			if i > 0 && i-1 < len(n.Dots) {
				tok(n.Dots[i-1])
			}
			node(a)
		}
		for i := len(n.Names) - 1; i < len(n.Dots); i++ {
			if i >= 0 {
				tok(n.Dots[i])
			}
		}
	case *Select:
		node(n.X)
		tok(n.Dot)
		if n.Path != nil {
			node(n.Path)
		}
		tok(n.Or)
		node(n.Default)
	case *HasAttr:
		node(n.X)
		tok(n.Question)
		if n.Path != nil {
			node(n.Path)
		}
	case *Apply:
		node(n.Fn)
		node(n.Arg)
	case *Unary:
		tok(n.Op)
		node(n.X)
	case *Binary:
		node(n.X)
		tok(n.Op)
		node(n.Y)
	case *If:
		tok(n.If)
		node(n.Cond)
		tok(n.ThenTok)
		node(n.Then)
		tok(n.ElseTok)
		node(n.Else)
	case *Assert:
		tok(n.Assert)
		node(n.Cond)
		tok(n.Semi)
		node(n.Body)
	case *With:
		tok(n.With)
		node(n.X)
		tok(n.Semi)
		node(n.Body)
	case *Lambda:
		param := func() {
			if n.Param != nil {
				node(n.Param)
			}
		}
		formals := func() {
			if n.Formals != nil {
				node(n.Formals)
			}
		}
		if n.ParamFirst || n.Formals == nil {
			param()
			tok(n.At)
			formals()
		} else {
			formals()
			tok(n.At)
			param()
		}
		tok(n.Colon)
		node(n.Body)
	case *Formals:
		tok(n.Open)
		for _, it := range n.Items {
			node(it)
		}
		tok(n.Close)
	case *Formal:
		if n.Name != nil {
			node(n.Name)
		}
		tok(n.Ellipsis)
		tok(n.Question)
		node(n.Default)
		tok(n.Comma)
	case *Bad:
		for _, e := range n.Elems {
			node(e)
		}
	}
}

// isNil reports whether the interface n holds a nil pointer.
func isNil(n Node) bool {
	switch n := n.(type) {
	case *Token:
		return n == nil
	case *Ident:
		return n == nil
	case *String:
		return n == nil
	case *Interpolation:
		return n == nil
	case *Bad:
		return n == nil
	case *Paren:
		return n == nil
	case *AttrPath:
		return n == nil
	case *Formals:
		return n == nil
	case *Text:
		return n == nil
	}
	return false
}

// firstToken returns the first token of n, or nil when n has none.
func firstToken(n Node) *Token {
	if n == nil || isNil(n) {
		return nil
	}
	if t, ok := n.(*Token); ok {
		return t
	}
	var first *Token
	children(n, func(c Node) {
		if first == nil {
			first = firstToken(c)
		}
	})
	return first
}

// lastToken returns the last token of n, or nil when n has none.
func lastToken(n Node) *Token {
	if n == nil || isNil(n) {
		return nil
	}
	if t, ok := n.(*Token); ok {
		return t
	}
	var buf [8]Node
	kids := buf[:0]
	children(n, func(c Node) { kids = append(kids, c) })
	for i := len(kids) - 1; i >= 0; i-- {
		if t := lastToken(kids[i]); t != nil {
			return t
		}
	}
	return nil
}

// Inspect traverses the tree rooted at n in depth-first source order,
// calling f for each node (tokens excluded). If f returns false, the
// children of that node are skipped.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || isNil(n) {
		return
	}
	if _, ok := n.(*Token); ok {
		return
	}
	if !f(n) {
		return
	}
	children(n, func(c Node) { Inspect(c, f) })
}

// A Visitor's Visit method is called by Walk for each node; when it
// returns a non-nil Visitor w, Walk visits the children with w and then
// calls w.Visit(nil).
type Visitor interface {
	Visit(n Node) (w Visitor)
}

// Walk traverses the tree rooted at n in depth-first source order, in the
// manner of go/ast.Walk. Tokens are not visited.
func Walk(v Visitor, n Node) {
	if n == nil || isNil(n) {
		return
	}
	if _, ok := n.(*Token); ok {
		return
	}
	if v = v.Visit(n); v == nil {
		return
	}
	children(n, func(c Node) { Walk(v, c) })
	v.Visit(nil)
}

// Tokens calls f for every token of n in source order, trivia excluded
// (they hang off each token's Leading).
func Tokens(n Node, f func(*Token)) {
	if n == nil || isNil(n) {
		return
	}
	if t, ok := n.(*Token); ok {
		f(t)
		return
	}
	children(n, func(c Node) { Tokens(c, f) })
}
