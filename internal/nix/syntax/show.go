package syntax

import (
	"bufio"
	"errors"
	"io"
	"sort"
	"strconv"
)

// ShowOptions configure Show.
type ShowOptions struct {
	// BaseDir is the absolute directory relative paths are resolved
	// against: the directory of the file for nix-instantiate --parse
	// FILE, the working directory for -E.
	BaseDir string
	// Home replaces ~ in home paths (~/x); Nix uses $HOME.
	Home string
	// SortUnordered sorts the bindings of let and the formals of
	// functions by name. Nix 2.8 prints them in the order of its symbol
	// table, which is mostly source order but depends on which names the
	// evaluator interned first; Show uses source order unless this is set.
	SortUnordered bool
}

// Show writes e in the normal form `nix-instantiate --parse` prints: the
// expression Nix's parser builds, with parentheses around compound
// expressions, attributes sorted, operators desugared to calls of
// __sub, __mul, __div and __lessThan, strings unescaped and re-quoted,
// interpolated names folded when they are literal, paths made absolute and
// floats printed as C++ streams print them. It fails when e has a Bad
// node.
func Show(w io.Writer, e Expr, opts ShowOptions) error {
	bad := false
	Inspect(e, func(n Node) bool {
		if _, ok := n.(*Bad); ok {
			bad = true
		}
		return !bad
	})
	if bad {
		return errors.New("syntax: cannot show an expression with syntax errors")
	}
	l := &lowerer{base: opts.BaseDir, home: opts.Home, errorf: func(Node, string, ...any) {}}
	if l.base == "" {
		l.base = "/"
	}
	x := l.lower(e)
	bw := bufio.NewWriter(w)
	s := &shower{w: bw, sort: opts.SortUnordered}
	s.show(x)
	return bw.Flush()
}

type shower struct {
	w    *bufio.Writer
	sort bool
}

func (s *shower) str(t string) { s.w.WriteString(t) }

func (s *shower) show(x nexpr) {
	switch x := x.(type) {
	case *nInt:
		s.str(strconv.FormatInt(x.v, 10))
	case *nFloat:
		s.str(strconv.FormatFloat(x.v, 'g', 6, 64))
	case *nString:
		s.str(showString(x.s))
	case *nPath:
		s.str(x.s)
	case *nVar:
		s.str(x.name)
	case *nSelect:
		s.str("(")
		s.show(x.e)
		s.str(").")
		s.attrPath(x.path)
		if x.def != nil {
			s.str(" or (")
			s.show(x.def)
			s.str(")")
		}
	case *nHasAttr:
		s.str("((")
		s.show(x.e)
		s.str(") ? ")
		s.attrPath(x.path)
		s.str(")")
	case *nAttrs:
		if x.rec {
			s.str("rec ")
		}
		s.str("{ ")
		keys := append([]string(nil), x.keys...)
		sort.Strings(keys)
		for _, k := range keys {
			s.entry(k, x.attrs[k], " ; ")
		}
		for _, d := range x.dyn {
			s.str(`"${`)
			s.show(d.name)
			s.str(`}" = `)
			s.show(d.value)
			s.str("; ")
		}
		s.str("}")
	case *nList:
		s.str("[ ")
		for _, e := range x.elems {
			s.str("(")
			s.show(e)
			s.str(") ")
		}
		s.str("]")
	case *nLambda:
		s.str("(")
		if x.hasFormals {
			s.str("{ ")
			fs := x.formals
			if s.sort {
				fs = append([]nFormal(nil), fs...)
				sort.SliceStable(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
			}
			for i, f := range fs {
				if i > 0 {
					s.str(", ")
				}
				s.str(f.name)
				if f.def != nil {
					s.str(" ? ")
					s.show(f.def)
				}
			}
			if x.ellipsis {
				if len(fs) > 0 {
					s.str(", ")
				}
				s.str("...")
			}
			s.str(" }")
			if x.arg != "" {
				s.str(" @ ")
			}
		}
		s.str(x.arg)
		s.str(": ")
		s.show(x.body)
		s.str(")")
	case *nCall:
		s.str("(")
		s.show(x.fn)
		for _, a := range x.args {
			s.str(" ")
			s.show(a)
		}
		s.str(")")
	case *nLet:
		s.str("(let ")
		keys := x.attrs.keys
		if s.sort {
			keys = append([]string(nil), keys...)
			sort.Strings(keys)
		}
		for _, k := range keys {
			s.entry(k, x.attrs.attrs[k], "; ")
		}
		s.str("in ")
		s.show(x.body)
		s.str(")")
	case *nWith:
		s.str("(with ")
		s.show(x.attrs)
		s.str("; ")
		s.show(x.body)
		s.str(")")
	case *nIf:
		s.str("(if ")
		s.show(x.cond)
		s.str(" then ")
		s.show(x.then)
		s.str(" else ")
		s.show(x.els)
		s.str(")")
	case *nAssert:
		s.str("assert ")
		s.show(x.cond)
		s.str("; ")
		s.show(x.body)
	case *nNot:
		s.str("(! ")
		s.show(x.e)
		s.str(")")
	case *nBin:
		s.str("(")
		s.show(x.a)
		s.str(" " + x.op + " ")
		s.show(x.b)
		s.str(")")
	case *nConcat:
		s.str("(")
		for i, p := range x.parts {
			if i > 0 {
				s.str(" + ")
			}
			s.show(p)
		}
		s.str(")")
	}
}

// entry prints one binding of a set or let; Nix 2.8 ends an inherit in a
// set with " ; " and in a let with "; ".
func (s *shower) entry(k string, d *nDef, inheritEnd string) {
	if d.inherited {
		s.str("inherit ")
		s.str(showName(k))
		s.str(inheritEnd)
		return
	}
	s.str(showName(k))
	s.str(" = ")
	s.show(d.e)
	s.str("; ")
}

func (s *shower) attrPath(ns []nName) {
	for i, n := range ns {
		if i > 0 {
			s.str(".")
		}
		if n.dyn != nil {
			s.str(`"${`)
			s.show(n.dyn)
			s.str(`}"`)
		} else {
			s.str(showName(n.name))
		}
	}
}

// showString quotes s as Nix 2.8's printer does: like Quote, but every
// $ is escaped.
func showString(s string) string { return quote(s, true) }

// showName prints an attribute name bare when it reads as an identifier
// and quoted otherwise. Like Nix 2.8 it quotes the keyword if and no other.
func showName(s string) string {
	if s == "" || s == "if" || !isIDStart(s[0]) {
		return showString(s)
	}
	for i := 1; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return showString(s)
		}
	}
	return s
}
