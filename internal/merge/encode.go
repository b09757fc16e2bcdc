package merge

import (
	"errors"
	"math"
	"math/big"
	"sort"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/wire"
)

// MarshalBinary encodes the tree, provenance included, for a cache;
// UnmarshalTree reads it back.
func (l *Tree) MarshalBinary() ([]byte, error) {
	e := &treeWriter{files: map[string]uint64{}}
	e.source(l.src)
	if err := e.node(&l.root); err != nil {
		return nil, err
	}
	return e.b, nil
}

// UnmarshalTree decodes a tree MarshalBinary encoded.
func UnmarshalTree(b []byte) (*Tree, error) {
	d := &treeReader{Reader: *wire.NewReader(b)}
	l := &Tree{src: d.source()}
	d.node(&l.root)
	if !d.Done() {
		return nil, errors.New("damaged tree")
	}
	return l, nil
}

// Source returns the source the tree was decoded as.
func (l *Tree) Source() Source { return l.src }

// Root returns the tree's root, which the caller must not modify.
func (l *Tree) Root() *Node { return &l.root }

// Rebase replaces the range of every value and declaration of the tree
// by what f returns for it: positions of a cached tree whose lines moved.
// Call it before the tree is shared.
func (l *Tree) Rebase(f func(diag.Range) diag.Range) { l.root.rebase(f) }

func (n *Node) rebase(f func(diag.Range) diag.Range) {
	for _, o := range []*Origin{n.leaf, n.conflict, n.decl} {
		if o != nil {
			o.Range = f(o.Range)
		}
	}
	for i := range n.Overridden {
		n.Overridden[i].Range = f(n.Overridden[i].Range)
	}
	for _, c := range n.fields {
		c.rebase(f)
	}
}

// A treeWriter writes trees: varints, length-prefixed strings, file names
// by index once written.
type treeWriter struct {
	b     []byte
	files map[string]uint64
}

func (e *treeWriter) uint(x uint64) { e.b = wire.AppendUint(e.b, x) }

func (e *treeWriter) str(s string) { e.b = wire.AppendString(e.b, s) }

func (e *treeWriter) source(s Source) {
	e.uint(uint64(s.Layer))
	e.str(s.Name)
}

func (e *treeWriter) rng(r diag.Range) {
	if i, ok := e.files[r.File]; ok {
		e.uint(i + 1)
	} else {
		e.uint(0)
		e.str(r.File)
		e.files[r.File] = uint64(len(e.files))
	}
	for _, x := range []int{r.Start.Line, r.Start.Col, r.Start.Offset, r.End.Line, r.End.Col, r.End.Offset} {
		e.uint(uint64(x))
	}
}

func (e *treeWriter) origin(o *Origin) error {
	if o == nil {
		e.uint(0)
		return nil
	}
	flags := uint64(1)
	if o.Doc {
		flags |= 2
	}
	e.uint(flags)
	e.source(o.Source)
	e.rng(o.Range)
	return e.value(o.Value)
}

// Value tags.
const (
	tagNull = iota
	tagFalse
	tagTrue
	tagString
	tagInt
	tagBig
	tagFloat
	tagList
	tagStruct
)

func (e *treeWriter) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.uint(tagNull)
	case bool:
		if x {
			e.uint(tagTrue)
		} else {
			e.uint(tagFalse)
		}
	case string:
		e.uint(tagString)
		e.str(x)
	case int64:
		e.uint(tagInt)
		e.b = wire.AppendInt(e.b, x)
	case *big.Int:
		e.uint(tagBig)
		e.str(x.String())
	case float64:
		e.uint(tagFloat)
		e.uint(math.Float64bits(x))
	case []any:
		e.uint(tagList)
		e.uint(uint64(len(x)))
		for _, y := range x {
			if err := e.value(y); err != nil {
				return err
			}
		}
	case map[string]any:
		e.uint(tagStruct)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.uint(uint64(len(keys)))
		for _, k := range keys {
			e.str(k)
			if err := e.value(x[k]); err != nil {
				return err
			}
		}
	default:
		return errors.New("a value of a type a tree does not hold")
	}
	return nil
}

func (e *treeWriter) node(n *Node) error {
	for _, o := range []*Origin{n.leaf, n.conflict, n.decl} {
		if err := e.origin(o); err != nil {
			return err
		}
	}
	e.uint(uint64(len(n.Overridden)))
	for i := range n.Overridden {
		if err := e.origin(&n.Overridden[i]); err != nil {
			return err
		}
	}
	e.uint(uint64(len(n.order)))
	for _, name := range n.order {
		e.str(name)
		if err := e.node(n.fields[name]); err != nil {
			return err
		}
	}
	return nil
}

// A treeReader reads what a treeWriter wrote (see wire.Reader for
// damaged input), with the file names read so far.
type treeReader struct {
	wire.Reader
	files []string
}

func (d *treeReader) source() Source {
	return Source{Layer: Layer(d.Uint()), Name: d.String()}
}

func (d *treeReader) rng() diag.Range {
	var r diag.Range
	if i := d.Uint(); i == 0 {
		r.File = d.String()
		d.files = append(d.files, r.File)
	} else if int(i) <= len(d.files) {
		r.File = d.files[i-1]
	} else {
		d.Fail()
	}
	for _, x := range []*int{&r.Start.Line, &r.Start.Col, &r.Start.Offset, &r.End.Line, &r.End.Col, &r.End.Offset} {
		*x = int(d.Uint())
	}
	return r
}

func (d *treeReader) origin() *Origin {
	flags := d.Uint()
	if flags == 0 {
		return nil
	}
	o := &Origin{Doc: flags&2 != 0, Source: d.source(), Range: d.rng()}
	o.Value = d.value()
	return o
}

func (d *treeReader) value() any {
	switch d.Uint() {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return d.String()
	case tagInt:
		return d.Int()
	case tagBig:
		z, ok := new(big.Int).SetString(d.String(), 10)
		if !ok {
			d.Fail()
		}
		return z
	case tagFloat:
		return math.Float64frombits(d.Uint())
	case tagList:
		out := make([]any, d.Count())
		for i := range out {
			out[i] = d.value()
		}
		return out
	case tagStruct:
		n := d.Count()
		out := make(map[string]any, n)
		for range n {
			k := d.String()
			out[k] = d.value()
		}
		return out
	}
	d.Fail()
	return nil
}

func (d *treeReader) node(n *Node) {
	n.leaf, n.conflict, n.decl = d.origin(), d.origin(), d.origin()
	if k := d.Count(); k > 0 {
		n.Overridden = make([]Origin, k)
		for i := range n.Overridden {
			if o := d.origin(); o != nil {
				n.Overridden[i] = *o
			}
		}
	}
	if k := d.Count(); k > 0 {
		n.fields = make(map[string]*Node, k)
		n.order = make([]string, 0, k)
		for range k {
			name := d.String()
			c := &Node{}
			d.node(c)
			if d.Bad() {
				return
			}
			n.fields[name] = c
			n.order = append(n.order, name)
		}
	}
}

// EncodeValue encodes a leaf value (see Origin.Value) as MarshalBinary
// encodes values, for a cache.
func EncodeValue(v any) ([]byte, error) {
	e := &treeWriter{files: map[string]uint64{}}
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.b, nil
}

// DecodeValue decodes a value EncodeValue encoded.
func DecodeValue(b []byte) (any, error) {
	d := &treeReader{Reader: *wire.NewReader(b)}
	v := d.value()
	if !d.Done() {
		return nil, errors.New("damaged value")
	}
	return v, nil
}

// Moved returns the tree b encodes (see MarshalBinary) with every range
// replaced by what f returns for it and every source by what s returns
// for it, encoded, without building the tree: a kept tree whose
// declarations moved, or made for an entry written as another is.
func Moved(b []byte, f func(diag.Range) diag.Range, s func(Source) Source) ([]byte, error) {
	m := &mover{d: treeReader{Reader: *wire.NewReader(b)}, e: treeWriter{b: make([]byte, 0, len(b)+len(b)/8), files: map[string]uint64{}}, f: f, s: s}
	m.e.source(s(m.d.source()))
	m.node()
	if !m.d.Done() {
		return nil, errors.New("damaged tree")
	}
	return m.e.b, nil
}

// A mover copies an encoded tree, moving its ranges and sources.
type mover struct {
	d treeReader
	e treeWriter
	f func(diag.Range) diag.Range
	s func(Source) Source
}

func (m *mover) node() {
	for range 3 {
		m.origin()
	}
	k := m.d.Count()
	m.e.uint(uint64(k))
	for range k {
		m.origin()
	}
	k = m.d.Count()
	m.e.uint(uint64(k))
	for range k {
		if m.d.Bad() {
			return
		}
		m.e.b = wire.AppendBytes(m.e.b, m.d.Bytes())
		m.node()
	}
}

func (m *mover) origin() {
	flags := m.d.Uint()
	m.e.uint(flags)
	if flags == 0 {
		return
	}
	m.e.source(m.s(m.d.source()))
	m.e.rng(m.f(m.d.rng()))
	// The value is copied as it is written.
	rest := m.d.Reader
	before := rest.Len()
	m.d.skipValue()
	m.e.b = append(m.e.b, rest.Fixed(before-m.d.Len())...)
}

// skipValue reads past a value.
func (d *treeReader) skipValue() {
	switch d.Uint() {
	case tagNull, tagFalse, tagTrue:
	case tagString, tagBig:
		d.Bytes()
	case tagInt:
		d.Int()
	case tagFloat:
		d.Uint()
	case tagList:
		for range d.Count() {
			d.skipValue()
		}
	case tagStruct:
		for range d.Count() {
			d.Bytes()
			d.skipValue()
		}
	default:
		d.Fail()
	}
}
