package syntax

import (
	"fmt"

	"fleetnix.dev/fleet/internal/diag"
)

// How deep Nix 2.8 nests.
//
// Nix 2.8 parses with a Bison GLR parser whose stack holds at most
// YYMAXDEPTH = 10000 items; deeper input fails with "memory exhausted".
// That stack is the only limit Nix puts on nesting in brackets and on
// the right (lists, sets, parentheses, strings, functions, let, with,
// if, right-associative operators), so the parser here counts, for
// every construct, the items Nix's stack would hold while it is being
// parsed, and stops with an error where Nix would. The counts follow
// Nix 2.8's grammar: each production holds the symbols parsed so far
// (`[` and the list of elements so far while an element is parsed;
// `let`, the bindings and `in` while the body is parsed), and the
// left-recursive lists (elements, bindings, string parts) hold one item
// however long they are. TestDepthOracle checks the limits against
// nix-instantiate --parse.
//
// Where a `{` starts an expression, Nix's grammar cannot tell a
// function's formals from an attribute set until the next token or two,
// and its GLR parser runs both readings at once. Until it knows, every
// shift and every reduction takes an item of its own; splitPeak accounts
// for those, with the counts measured on Nix 2.8.
//
// Chains that Nix's grammar builds on the left (applications,
// left-associative operators, `?`) take no stack in Nix's parser; Nix
// 2.8 itself fails with "stack overflow" on a chain of about 839,000 `-`
// when it goes on to check the expression, and takes chains of
// applications of any length. The tree here holds such a chain as nested
// nodes, and every later pass (checks, lint, format) walks the tree
// recursively, so Parse bounds its depth at maxTreeDepth: deeper input
// is an error where Nix might accept it.

// maxStack is the most items Nix 2.8's parser stack holds: one more
// (with its two items of headroom) and it fails.
const maxStack = 9998

// maxTreeDepth bounds the depth of the tree, chains on the left included.
const maxTreeDepth = 100000

// tooDeep is the panic that ends a parse nested more deeply than Nix can
// parse; parseFile recovers it.
type tooDeep struct{}

// check reports a nesting error when Nix's stack, holding k more items
// than the construct's base, would overflow, and ends the parse.
func (p *parser) check(k int) {
	if p.stack+k > maxStack {
		p.fail("expression nested too deeply: Nix 2.8 cannot parse it (its parser stack holds %d entries)", maxStack+2)
	}
}

// enter checks k more items and makes them part of the base.
func (p *parser) enter(k int) {
	p.check(k)
	p.stack += k
}

// leave undoes enter(k).
func (p *parser) leave(k int) { p.stack -= k }

func (p *parser) fail(format string, args ...any) {
	t := p.cur()
	p.deep = &diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf(format, args...),
		Range: diag.Range{File: p.f.Name, Start: p.f.Position(t.Start), End: p.f.Position(t.End())}}
	panic(tooDeep{})
}

// sub parses an expression in a place that ends before the construct
// around it does: no construct ends with it.
func (p *parser) sub() Expr {
	save := p.tail
	p.tail = 0
	x := p.parseExpr()
	p.tail = save
	return x
}

// body parses an expression that ends the construct around it (a
// function's body, the else branch of an if); cost is the reductions
// Nix's parser makes when that construct ends.
func (p *parser) body(cost int) Expr {
	save := p.tail
	p.tail += cost
	x := p.parseExpr()
	p.tail = save
	return x
}

// splitPeak checks the items Nix's GLR parser takes at a { that starts
// an expression, while it reads the { both as formals and as a set. The
// counts were measured with nix-instantiate --parse of the { nested in
// parentheses to the limit.
func (p *parser) splitPeak() {
	switch p.peek(1) {
	case IDENT:
		switch p.peek(2) {
		case ASSIGN, DOT, RBRACE:
			p.check(14)
		case COMMA:
			p.check(12)
		case QUESTION:
			p.check(10)
		}
	case RBRACE:
		// { } stays ambiguous until the token after it: the set reading
		// reduces as far as that token lets it, two items a reduction.
		follow := p.peek(2)
		r := 7 + p.tail // up to expr, and the constructs it ends
		prec, _ := binaryPrec(follow)
		switch {
		case follow == DOT || follow == OR:
			r = 1
		case prec > 0:
			r = 4
		case canStartSimple(follow):
			r = 3
		}
		p.check(8 + 2*r)
	}
}

// checkTreeDepth reports an error, and returns false, when the tree under
// e is more than maxTreeDepth nodes deep. It walks with a stack of its
// own, as the tree may be too deep for recursion.
func (p *parser) checkTreeDepth(e Expr) bool {
	type item struct {
		n     Node
		depth int
	}
	stack := []item{{e, 1}}
	var kids []Node
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > maxTreeDepth {
			t := lastToken(it.n)
			p.deep = &diag.Diagnostic{Severity: diag.Error,
				Summary: fmt.Sprintf("expression nested too deeply: more than %d levels of applications and operators", maxTreeDepth),
				Range:   diag.Range{File: p.f.Name, Start: p.f.Position(t.Start), End: p.f.Position(t.End())}}
			return false
		}
		kids = kids[:0]
		children(it.n, func(c Node) {
			if _, ok := c.(*Token); !ok {
				kids = append(kids, c)
			}
		})
		for _, c := range kids {
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	return true
}
