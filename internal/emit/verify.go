package emit

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ErrRoundTrip is the error (wrapped in an *Error naming the file) of a
// generated file whose text does not parse back to the syntax tree fleet
// built: a fault of fleet's, never of the input, and nothing is written.
var ErrRoundTrip = errors.New("internal error: the generated text does not parse back to the tree fleet built")

// printNode prints a tree; a test replaces it to see a mismatch caught.
var printNode = format.Node

// printFile prints the tree f as the file p and checks the guarantee every
// generated file carries: parsed again, the text is the same tree, token
// for token, comments included. Whatever a value holds, it stays the value
// it was built as; it can never become code, end a comment early or
// swallow a neighbour. It returns the text and the tree parsed from it,
// which the source map reads.
func printFile(p string, f *syntax.File) ([]byte, *syntax.File, error) {
	var b bytes.Buffer
	if err := printNode(&b, f); err != nil {
		return nil, nil, &Error{File: p, Err: err}
	}
	// The header must be the very first line.
	out := bytes.TrimLeft(b.Bytes(), "\n")
	if bytes.IndexByte(out, 0) >= 0 {
		return nil, nil, &Error{File: p, Err: errors.New("a value holds a NUL character, which Nix cannot represent")}
	}
	parsed, err := sameTree(p, f, out)
	if err != nil {
		return nil, nil, &Error{File: p, Err: err}
	}
	return out, parsed, nil
}

// sameTree reports how the text src, parsed, differs from the tree built,
// and returns the parsed tree when it does not. The two shapes are
// compared as they are walked, item by item: a file's shape is not held
// whole (a monitoring server's module of 10,000 hosts is 1.7 million
// items, 80 MB).
func sameTree(name string, built *syntax.File, src []byte) (*syntax.File, error) {
	parsed, errs := syntax.Parse(name, src)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrRoundTrip, errs[0].Summary)
	}
	want := walkers.Get().(*shapeWalker)
	defer func() {
		want.reset(nil)
		walkers.Put(want)
	}()
	want.reset(built)
	built1, got := 0, 0
	var mismatch error
	eachShape(parsed, func(it shapeItem) bool {
		if w, ok := want.next(); ok {
			built1++
			if w != it {
				mismatch = fmt.Errorf("%w: built %s, parsed %s", ErrRoundTrip, w, it)
				return false
			}
		}
		got++
		return true
	})
	if mismatch != nil {
		return nil, mismatch
	}
	for _, ok := want.next(); ok; _, ok = want.next() {
		built1++
	}
	if built1 != got {
		return nil, fmt.Errorf("%w: built %d elements, parsed %d", ErrRoundTrip, built1, got)
	}
	return parsed, nil
}

// A shapeWalker gives the shape of a tree item by item, in eachShape's
// order, holding only the nodes it has yet to visit.
type shapeWalker struct {
	todo  []shapeStep // a stack: the next step last
	items []shapeItem // a token's items, given from the one at at
	at    int
	kids  []syntax.Node
}

// A shapeStep is a node to visit, or with end the end of one.
type shapeStep struct {
	node syntax.Node
	end  bool
}

// walkers are shapeWalkers, reused from file to file.
var walkers = sync.Pool{New: func() any { return new(shapeWalker) }}

// reset starts the walk of n; nil drops what the walker holds.
func (w *shapeWalker) reset(n syntax.Node) {
	clear(w.todo)
	clear(w.items)
	clear(w.kids)
	w.todo, w.items, w.kids, w.at = w.todo[:0], w.items[:0], w.kids[:0], 0
	if n != nil {
		w.todo = append(w.todo, shapeStep{node: n})
	}
}

// next returns the next item of the shape, false at its end.
func (w *shapeWalker) next() (shapeItem, bool) {
	if w.at < len(w.items) {
		w.at++
		return w.items[w.at-1], true
	}
	if len(w.todo) == 0 {
		return shapeItem{}, false
	}
	step := w.todo[len(w.todo)-1]
	w.todo[len(w.todo)-1] = shapeStep{}
	w.todo = w.todo[:len(w.todo)-1]
	if step.end {
		return shapeItem{what: shapeEnd}, true
	}
	if t, ok := step.node.(*syntax.Token); ok {
		w.items = w.items[:0]
		for _, c := range t.Leading {
			if c.Kind == syntax.LINECOMMENT || c.Kind == syntax.BLOCKCOMMENT {
				w.items = append(w.items, shapeItem{what: shapeComment, text: c.Text})
			}
		}
		w.items = append(w.items, shapeItem{what: shapeToken, kind: t.Kind, text: t.Text})
		w.at = 1
		return w.items[0], true
	}
	w.todo = append(w.todo, shapeStep{end: true})
	w.kids = w.kids[:0]
	syntax.Children(step.node, func(c syntax.Node) { w.kids = append(w.kids, c) })
	for i := len(w.kids) - 1; i >= 0; i-- {
		w.todo = append(w.todo, shapeStep{node: w.kids[i]})
	}
	clear(w.kids)
	return shapeItem{what: shapeNode, node: reflect.TypeOf(step.node)}, true
}

// A shapeItem is one element of a tree's shape: a node's start (its
// type), a node's end, a comment or a token (its kind and text).
type shapeItem struct {
	what shapeWhat
	node reflect.Type
	kind syntax.Kind
	text string
}

type shapeWhat uint8

const (
	shapeNode shapeWhat = iota
	shapeEnd
	shapeComment
	shapeToken
)

// String prints the item as a mismatch names it.
func (s shapeItem) String() string {
	switch s.what {
	case shapeNode:
		return s.node.Elem().Name()
	case shapeEnd:
		return "end"
	case shapeComment:
		return fmt.Sprintf("comment %q", s.text)
	}
	return fmt.Sprintf("%s %q", s.kind, s.text)
}

// appendShape appends to out the tree n in a form two trees are equal
// in exactly when they are the same tree: every node with its type,
// where it starts and ends, and in their places every token with its
// kind, its text and the comments before it. Whitespace does not count.
func appendShape(out []shapeItem, n syntax.Node) []shapeItem {
	eachShape(n, func(it shapeItem) bool {
		out = append(out, it)
		return true
	})
	return out
}

// eachShape calls f with each item of the shape of n, in order, until f
// returns false.
func eachShape(n syntax.Node, f func(shapeItem) bool) {
	stop := false
	var walk func(syntax.Node)
	walk = func(n syntax.Node) {
		if stop {
			return
		}
		if t, ok := n.(*syntax.Token); ok {
			for _, c := range t.Leading {
				if (c.Kind == syntax.LINECOMMENT || c.Kind == syntax.BLOCKCOMMENT) && !stop {
					stop = !f(shapeItem{what: shapeComment, text: c.Text})
				}
			}
			if !stop {
				stop = !f(shapeItem{what: shapeToken, kind: t.Kind, text: t.Text})
			}
			return
		}
		if stop = !f(shapeItem{what: shapeNode, node: reflect.TypeOf(n)}); stop {
			return
		}
		syntax.Children(n, walk)
		if !stop {
			stop = !f(shapeItem{what: shapeEnd})
		}
	}
	walk(n)
}

// pathLit returns the path literal p, or an error when p is not one: a
// path is built from names, never parsed from text.
func pathLit(p string) (syntax.Expr, error) {
	if !isPathLit(p) {
		return nil, fmt.Errorf("%q is not a Nix path", p)
	}
	return syntax.PathLit(p), nil
}

// isPathLit reports whether p is a relative Nix path literal with
// components of path characters only: ./x/y.nix, ../../secrets/a.age.
func isPathLit(p string) bool {
	if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") || strings.HasSuffix(p, "/") {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || strings.IndexFunc(c, func(r rune) bool { return !isPathChar(r) }) >= 0 {
			return false
		}
	}
	return true
}

// isPathChar reports whether r may appear in a component of a Nix path
// literal.
func isPathChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._-+", r)
}

// checkNames checks the names that become file names: hosts and users.
func checkNames(f *Fleet) error {
	for _, h := range f.Hosts {
		if err := checkName("host", h.Name); err != nil {
			return &Error{File: "flake.nix", Err: err}
		}
		for _, u := range h.Users {
			if err := checkName("user", u.Name); err != nil {
				return &Error{File: "hosts/" + h.Name + ".nix", Err: err}
			}
		}
	}
	return nil
}

// checkName checks that name, of the given kind, can name a generated file
// (hosts/<name>.nix): path characters only, and not . or ... The schema
// allows less; this keeps the emitter safe for any caller.
func checkName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.IndexFunc(name, func(r rune) bool { return !isPathChar(r) }) >= 0 || len(name) > 200 {
		return fmt.Errorf("%s name %q cannot name a file", kind, name)
	}
	return nil
}

// SameModules reports whether the modules a and b, HostModules of the
// same host named from and named to, are the same but for that: each
// module's path, host and text (a disk layout's) or tree (every node and
// token) with from replaced by to.
func SameModules(a, b []Module, from, to string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if strings.ReplaceAll(x.Path, from, to) != y.Path || strings.ReplaceAll(x.Host, from, to) != y.Host || x.User != y.User ||
			(x.Expr == nil) != (y.Expr == nil) || !bytes.Equal(bytes.ReplaceAll(x.Data, []byte(from), []byte(to)), y.Data) {
			return false
		}
		if x.Expr == nil {
			continue
		}
		want := appendShape(nil, x.Expr)
		for j := range want {
			want[j].text = strings.ReplaceAll(want[j].text, from, to)
		}
		got := appendShape(nil, y.Expr)
		if !slices.Equal(want, got) {
			return false
		}
	}
	return true
}
