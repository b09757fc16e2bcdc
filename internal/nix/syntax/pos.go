package syntax

// Pos and End give each node's half-open range [Pos, End).

// Pos returns the position of the first byte of the File.
func (n *File) Pos() Pos { return nodePos(n) }

// End returns the position just after the File.
func (n *File) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Ident.
func (n *Ident) Pos() Pos { return nodePos(n) }

// End returns the position just after the Ident.
func (n *Ident) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Int.
func (n *Int) Pos() Pos { return nodePos(n) }

// End returns the position just after the Int.
func (n *Int) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Float.
func (n *Float) Pos() Pos { return nodePos(n) }

// End returns the position just after the Float.
func (n *Float) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the URI.
func (n *URI) Pos() Pos { return nodePos(n) }

// End returns the position just after the URI.
func (n *URI) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the SearchPath.
func (n *SearchPath) Pos() Pos { return nodePos(n) }

// End returns the position just after the SearchPath.
func (n *SearchPath) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the PathExpr.
func (n *PathExpr) Pos() Pos { return nodePos(n) }

// End returns the position just after the PathExpr.
func (n *PathExpr) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the String.
func (n *String) Pos() Pos { return nodePos(n) }

// End returns the position just after the String.
func (n *String) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Text.
func (n *Text) Pos() Pos { return nodePos(n) }

// End returns the position just after the Text.
func (n *Text) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Interpolation.
func (n *Interpolation) Pos() Pos { return nodePos(n) }

// End returns the position just after the Interpolation.
func (n *Interpolation) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Paren.
func (n *Paren) Pos() Pos { return nodePos(n) }

// End returns the position just after the Paren.
func (n *Paren) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the List.
func (n *List) Pos() Pos { return nodePos(n) }

// End returns the position just after the List.
func (n *List) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the AttrSet.
func (n *AttrSet) Pos() Pos { return nodePos(n) }

// End returns the position just after the AttrSet.
func (n *AttrSet) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the LegacyLet.
func (n *LegacyLet) Pos() Pos { return nodePos(n) }

// End returns the position just after the LegacyLet.
func (n *LegacyLet) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Let.
func (n *Let) Pos() Pos { return nodePos(n) }

// End returns the position just after the Let.
func (n *Let) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Attr.
func (n *Attr) Pos() Pos { return nodePos(n) }

// End returns the position just after the Attr.
func (n *Attr) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Inherit.
func (n *Inherit) Pos() Pos { return nodePos(n) }

// End returns the position just after the Inherit.
func (n *Inherit) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the AttrPath.
func (n *AttrPath) Pos() Pos { return nodePos(n) }

// End returns the position just after the AttrPath.
func (n *AttrPath) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Select.
func (n *Select) Pos() Pos { return nodePos(n) }

// End returns the position just after the Select.
func (n *Select) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the HasAttr.
func (n *HasAttr) Pos() Pos { return nodePos(n) }

// End returns the position just after the HasAttr.
func (n *HasAttr) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Apply.
func (n *Apply) Pos() Pos { return nodePos(n) }

// End returns the position just after the Apply.
func (n *Apply) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Unary.
func (n *Unary) Pos() Pos { return nodePos(n) }

// End returns the position just after the Unary.
func (n *Unary) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Binary.
func (n *Binary) Pos() Pos { return nodePos(n) }

// End returns the position just after the Binary.
func (n *Binary) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the If.
func (n *If) Pos() Pos { return nodePos(n) }

// End returns the position just after the If.
func (n *If) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Assert.
func (n *Assert) Pos() Pos { return nodePos(n) }

// End returns the position just after the Assert.
func (n *Assert) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the With.
func (n *With) Pos() Pos { return nodePos(n) }

// End returns the position just after the With.
func (n *With) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Lambda.
func (n *Lambda) Pos() Pos { return nodePos(n) }

// End returns the position just after the Lambda.
func (n *Lambda) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Formals.
func (n *Formals) Pos() Pos { return nodePos(n) }

// End returns the position just after the Formals.
func (n *Formals) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Formal.
func (n *Formal) Pos() Pos { return nodePos(n) }

// End returns the position just after the Formal.
func (n *Formal) End() Pos { return nodeEnd(n) }

// Pos returns the position of the first byte of the Bad.
func (n *Bad) Pos() Pos { return nodePos(n) }

// End returns the position just after the Bad.
func (n *Bad) End() Pos { return nodeEnd(n) }
