package merge

import (
	"errors"
	"math"
	"math/big"
	"sort"
	"sync"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/wire"
)

// MarshalBinary encodes the tree, provenance included, for a cache;
// UnmarshalTree reads it back. The result is exactly as long as the
// encoding: a large fleet's hosts are kept encoded until merged.
func (l *Tree) MarshalBinary() ([]byte, error) {
	e := newTreeWriter()
	defer e.free()
	e.source(l.src)
	if err := e.node(&l.root); err != nil {
		return nil, err
	}
	return e.bytes(), nil
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

// A treeWriter writes trees: varints, length-prefixed strings, file names
// and sources by index once written, a range's start from the last in its
// file and its end from its start.
type treeWriter struct {
	b       []byte
	files   map[string]uint64
	sources map[Source]uint64
	// last is, by file index, the start of the last range written in the
	// file: a range's start is written from it (a host's leaves are
	// written in the order of its text, a few lines apart).
	last []diag.Pos
}

// treeWriters keeps writers and their buffers between encodings.
var treeWriters = sync.Pool{New: func() any {
	return &treeWriter{files: map[string]uint64{}, sources: map[Source]uint64{}}
}}

func newTreeWriter() *treeWriter { return treeWriters.Get().(*treeWriter) }

// free returns e to the pool; its bytes must no longer be used.
func (e *treeWriter) free() {
	if cap(e.b) > 1<<20 {
		e.b = nil // a rare large tree's buffer is not kept
	}
	e.b = e.b[:0]
	clear(e.files)
	clear(e.sources)
	e.last = e.last[:0]
	treeWriters.Put(e)
}

// bytes returns a copy of what e wrote, of its exact size.
func (e *treeWriter) bytes() []byte {
	out := make([]byte, len(e.b))
	copy(out, e.b)
	return out
}

func (e *treeWriter) uint(x uint64) { e.b = wire.AppendUint(e.b, x) }

func (e *treeWriter) int(x int) { e.b = wire.AppendInt(e.b, int64(x)) }

func (e *treeWriter) str(s string) { e.b = wire.AppendString(e.b, s) }

func (e *treeWriter) source(s Source) {
	if i, ok := e.sources[s]; ok {
		e.uint(i + 1)
		return
	}
	e.uint(0)
	e.uint(uint64(s.Layer))
	e.str(s.Name)
	e.sources[s] = uint64(len(e.sources))
}

func (e *treeWriter) rng(r diag.Range) {
	i, ok := e.files[r.File]
	if ok {
		e.uint(i + 1)
	} else {
		e.uint(0)
		e.str(r.File)
		i = uint64(len(e.files))
		e.files[r.File] = i
		e.last = append(e.last, diag.Pos{})
	}
	last := &e.last[i]
	e.int(r.Start.Line - last.Line)
	e.uint(uint64(r.Start.Col))
	e.int(r.Start.Offset - last.Offset)
	*last = r.Start
	// Most ranges are a point: the end costs a byte a number.
	e.int(r.End.Line - r.Start.Line)
	e.int(r.End.Col - r.Start.Col)
	e.int(r.End.Offset - r.Start.Offset)
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
// damaged input), with the file names and sources read so far.
type treeReader struct {
	wire.Reader
	files   []string
	sources []Source
	last    []diag.Pos // see treeWriter
}

func (d *treeReader) source() Source {
	if i := d.Uint(); i > 0 {
		if int(i) > len(d.sources) {
			d.Fail()
			return Source{}
		}
		return d.sources[i-1]
	}
	s := Source{Layer: Layer(d.Uint()), Name: d.String()}
	d.sources = append(d.sources, s)
	return s
}

func (d *treeReader) rng() diag.Range {
	var r diag.Range
	i := int(d.Uint())
	if i == 0 {
		r.File = d.String()
		d.files = append(d.files, r.File)
		d.last = append(d.last, diag.Pos{})
		i = len(d.files)
	} else if i <= len(d.files) {
		r.File = d.files[i-1]
	} else {
		d.Fail()
		return r
	}
	last := &d.last[i-1]
	r.Start.Line = last.Line + int(d.Int())
	r.Start.Col = int(d.Uint())
	r.Start.Offset = last.Offset + int(d.Int())
	*last = r.Start
	r.End.Line = r.Start.Line + int(d.Int())
	r.End.Col = r.Start.Col + int(d.Int())
	r.End.Offset = r.Start.Offset + int(d.Int())
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
		kids := make([]Node, k)
		n.fields = make(map[string]*Node, k)
		n.order = make([]string, 0, k)
		for i := range kids {
			name := d.String()
			c := &kids[i]
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
	e := newTreeWriter()
	defer e.free()
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.bytes(), nil
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
	e := newTreeWriter()
	defer e.free()
	m := &mover{d: treeReader{Reader: *wire.NewReader(b)}, e: e, f: f, s: s}
	m.e.source(s(m.d.source()))
	m.node()
	if !m.d.Done() {
		return nil, errors.New("damaged tree")
	}
	return m.e.bytes(), nil
}

// A mover copies an encoded tree, moving its ranges and sources.
type mover struct {
	d treeReader
	e *treeWriter
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
