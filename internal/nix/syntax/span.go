package syntax

// A span caches the range of a parsed node, so that Pos and End cost the
// same for a node at the top of a chain of 100,000 applications as for a
// leaf. Parse fills it in once, bottom up; nodes built by the
// constructors have none and compute their range from their tokens.
type span struct{ start, end Pos }

// spanOf returns the span of n, or nil for nodes that have none (tokens
// and the single-token leaves, whose range is their token's).
func spanOf(n Node) *span {
	switch n := n.(type) {
	case *PathExpr:
		return &n.span
	case *String:
		return &n.span
	case *Interpolation:
		return &n.span
	case *Paren:
		return &n.span
	case *List:
		return &n.span
	case *AttrSet:
		return &n.span
	case *LegacyLet:
		return &n.span
	case *Let:
		return &n.span
	case *Attr:
		return &n.span
	case *Inherit:
		return &n.span
	case *AttrPath:
		return &n.span
	case *Select:
		return &n.span
	case *HasAttr:
		return &n.span
	case *Apply:
		return &n.span
	case *Unary:
		return &n.span
	case *Binary:
		return &n.span
	case *If:
		return &n.span
	case *Assert:
		return &n.span
	case *With:
		return &n.span
	case *Lambda:
		return &n.span
	case *Formals:
		return &n.span
	case *Formal:
		return &n.span
	case *Bad:
		return &n.span
	}
	return nil
}

// fillSpans records the range of every node under n and returns n's.
func fillSpans(n Node) (start, end Pos) {
	if t, ok := n.(*Token); ok {
		return t.Start, t.End()
	}
	children(n, func(c Node) {
		s, e := fillSpans(c)
		if !start.IsValid() {
			start = s
		}
		if e.IsValid() {
			end = e
		}
	})
	if sp := spanOf(n); sp != nil {
		sp.start, sp.end = start, end
	}
	return start, end
}

func nodePos(n Node) Pos {
	if sp := spanOf(n); sp != nil && sp.start.IsValid() {
		return sp.start
	}
	if t := firstToken(n); t != nil {
		return t.Start
	}
	return NoPos
}

func nodeEnd(n Node) Pos {
	if sp := spanOf(n); sp != nil && sp.end.IsValid() {
		return sp.end
	}
	if t := lastToken(n); t != nil {
		return t.End()
	}
	return NoPos
}

// FirstToken returns the first token of n, or nil when n has none. Its
// Leading holds the comments and whitespace before n.
func FirstToken(n Node) *Token { return firstToken(n) }

// LastToken returns the last token of n, or nil when n has none.
func LastToken(n Node) *Token { return lastToken(n) }
