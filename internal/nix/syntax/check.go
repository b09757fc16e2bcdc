package syntax

import (
	"strconv"
)

// The checker finds the errors Nix's parser reports beyond the grammar
// (duplicate attributes after merging attribute paths, duplicate formals,
// dynamic attributes in let and inherit, out-of-range numbers) in one walk,
// without building the lowered tree that Show prints. Its merging rules
// are those of lowerer.addAttr, which is checked against Nix by TestOracle;
// TestCheckMatchesLower keeps the two in step.

// A cset is what the checker knows of an attribute set: its static keys,
// in a slice while there are few (most sets are small) and a map after.
type cset struct {
	small []ckey
	keys  map[string]*centry
}

type ckey struct {
	k string
	e *centry
}

const smallSet = 8

func (s *cset) get(k string) (*centry, bool) {
	if s.keys != nil {
		e, ok := s.keys[k]
		return e, ok
	}
	for _, kv := range s.small {
		if kv.k == k {
			return kv.e, true
		}
	}
	return nil, false
}

// each calls f for each key.
func (s *cset) each(f func(k string, e *centry)) {
	if s.keys != nil {
		for k, e := range s.keys {
			f(k, e)
		}
		return
	}
	for _, kv := range s.small {
		f(kv.k, kv.e)
	}
}

type centry struct {
	set       *cset // non-nil when the value is an attribute set
	inherited bool
	at        Node
}

type checker struct {
	l *lowerer // for messages and name values
}

func checkSemantics(f *File, p *parser) {
	c := &checker{l: &lowerer{base: "/", home: "/", file: f, errorf: p.errorf}}
	c.expr(f.Expr)
}

// Unparen strips the parentheses around e. A parenthesis left without
// its expression by a syntax error ends the stripping.
func Unparen(e Expr) Expr {
	for {
		p, ok := e.(*Paren)
		if !ok || p == nil || p.X == nil {
			return e
		}
		e = p.X
	}
}

// staticString reports whether s lowers to a plain string, and its value.
func staticString(s *String) (string, bool) {
	for _, p := range s.Parts {
		if _, ok := p.(*Interpolation); ok {
			return "", false
		}
	}
	if s.Open.Kind == INDOPEN && len(s.Parts) > 1 {
		return "", false // each piece stays a separate string: a concatenation
	}
	v, err := StringValue(s)
	return v, err == nil
}

// name returns the static name of n, or ok=false when it is dynamic.
func (c *checker) name(n AttrName) (string, bool) {
	switch n := n.(type) {
	case *Ident:
		return n.Tok.Text, true
	case *String:
		c.strings(n)
		return staticString(n)
	case *Interpolation:
		if s, ok := Unparen(n.X).(*String); ok {
			c.strings(s)
			return staticString(s)
		}
		c.expr(n.X)
	}
	return "", false
}

func (c *checker) strings(s *String) {
	for _, p := range s.Parts {
		if in, ok := p.(*Interpolation); ok {
			c.expr(in.X)
		}
	}
}

// expr checks e and returns what it knows of e as an attribute set, or nil
// when e is not one.
func (c *checker) expr(e Expr) *cset {
	switch e := e.(type) {
	case nil:
	case *Int:
		if _, err := strconv.ParseInt(e.Tok.Text, 10, 64); err != nil {
			c.l.errorf(e, "invalid integer `%s`: it does not fit in 64 bits", e.Tok.Text)
		}
	case *Float:
		if _, ok := parseFloat(e.Tok.Text); !ok {
			c.l.errorf(e, "invalid float `%s`: it is out of range", e.Tok.Text)
		}
	case *Paren:
		return c.expr(e.X)
	case *AttrSet:
		return c.bindings(e.Bindings)
	case *LegacyLet:
		c.bindings(e.Bindings)
	case *Let:
		set := c.bindings(e.Bindings)
		_ = set
		for _, b := range e.Bindings {
			if a, ok := b.(*Attr); ok && a.Path != nil && len(a.Path.Names) > 0 {
				if _, static := staticName(a.Path.Names[0]); !static {
					c.l.errorf(e.Let, "dynamic attributes not allowed in let")
					break
				}
			}
		}
		c.expr(e.Body)
	case *Lambda:
		if e.Formals != nil {
			checkFormals(e, c.l.errorf)
			for _, f := range e.Formals.Items {
				c.expr(f.Default)
			}
		}
		c.expr(e.Body)
	case *String:
		c.strings(e)
	case *PathExpr:
		for _, p := range e.Parts {
			if in, ok := p.(*Interpolation); ok {
				c.expr(in.X)
			}
		}
	case *Select:
		c.expr(e.X)
		c.path(e.Path)
		c.expr(e.Default)
	case *HasAttr:
		c.expr(e.X)
		c.path(e.Path)
	default:
		Inspect(e, func(n Node) bool {
			if n == Node(e) {
				return true
			}
			if x, ok := n.(Expr); ok {
				c.expr(x)
				return false
			}
			return true
		})
	}
	return nil
}

func (c *checker) path(ap *AttrPath) {
	if ap == nil {
		return
	}
	for _, n := range ap.Names {
		c.name(n)
	}
}

func (c *checker) bindings(bs []Binding) *cset {
	set := &cset{}
	for _, b := range bs {
		switch b := b.(type) {
		case *Attr:
			if b.Path == nil || len(b.Path.Names) == 0 {
				continue
			}
			names := make([]string, len(b.Path.Names))
			static := make([]bool, len(b.Path.Names))
			for i, n := range b.Path.Names {
				names[i], static[i] = c.name(n)
			}
			v := c.expr(b.Value)
			c.add(set, names, static, v, b.Path)
		case *Inherit:
			if b.From != nil {
				c.expr(b.From.X)
			}
			for _, n := range b.Names {
				k, ok := c.name(n)
				if !ok {
					c.l.errorf(n, "dynamic attributes not allowed in inherit")
					continue
				}
				if prev, dup := set.get(k); dup {
					c.l.dupAttr(k, n, prev.at)
				}
				set.put(k, &centry{inherited: b.From == nil, at: n})
			}
		case *Bad:
			c.expr(b)
		}
	}
	return set
}

func (s *cset) put(k string, e *centry) {
	if s.keys == nil {
		for i := range s.small {
			if s.small[i].k == k {
				s.small[i].e = e
				return
			}
		}
		if len(s.small) < smallSet {
			if s.small == nil {
				s.small = make([]ckey, 0, 4)
			}
			s.small = append(s.small, ckey{k, e})
			return
		}
		s.keys = make(map[string]*centry, 2*smallSet)
		for _, kv := range s.small {
			s.keys[kv.k] = kv.e
		}
		s.small = nil
	}
	s.keys[k] = e
}

// add mirrors lowerer.addAttr.
func (c *checker) add(set *cset, names []string, static []bool, v *cset, at *AttrPath) {
	last := len(names) - 1
	for i := 0; i < last; i++ {
		if !static[i] {
			set = &cset{} // a dynamic name makes a fresh nested set
			continue
		}
		if j, ok := set.get(names[i]); ok {
			if j.set != nil && !j.inherited {
				set = j.set
				continue
			}
			c.l.dupAttr(joinNames(names, static), at, j.at)
			return
		}
		nested := &cset{}
		set.put(names[i], &centry{set: nested, at: at})
		set = nested
	}
	if !static[last] {
		return
	}
	j, ok := set.get(names[last])
	if !ok {
		set.put(names[last], &centry{set: v, at: at})
		return
	}
	if v == nil || j.set == nil || j.inherited {
		c.l.dupAttr(joinNames(names, static), at, j.at)
		return
	}
	v.each(func(k string, e *centry) {
		if prev, dup := j.set.get(k); dup {
			c.l.dupAttr(k, e.at, prev.at)
			return
		}
		j.set.put(k, e)
	})
}

func joinNames(names []string, static []bool) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += "."
		}
		if static[i] {
			s += n
		} else {
			s += "${...}"
		}
	}
	return s
}

// checkFormals reports duplicate formals, and a formal named like the
// argument after @, as Nix does.
func checkFormals(e *Lambda, errorf func(n Node, format string, args ...any)) {
	seen := map[string]bool{}
	for _, f := range e.Formals.Items {
		if f.Name == nil {
			continue
		}
		name := f.Name.Tok.Text
		if seen[name] {
			errorf(f.Name, "duplicate formal function argument `%s`", name)
		}
		seen[name] = true
	}
	if e.Param != nil && seen[e.Param.Tok.Text] {
		errorf(e.Param, "duplicate formal function argument `%s`: it is also the name after `@`", e.Param.Tok.Text)
	}
}
