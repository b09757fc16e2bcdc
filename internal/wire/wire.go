// Package wire writes and reads the compact binary records fleet keeps in
// its cache and spools: unsigned and signed varints, and byte strings
// prefixed by their length. A Reader never panics on damaged input: it
// records that the input is bad and returns zero values from then on.
package wire

import "encoding/binary"

// AppendUint appends x as an unsigned varint.
func AppendUint(b []byte, x uint64) []byte { return binary.AppendUvarint(b, x) }

// AppendInt appends x as a signed (zig-zag) varint.
func AppendInt(b []byte, x int64) []byte { return binary.AppendVarint(b, x) }

// AppendString appends s, its length first.
func AppendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// AppendBytes appends s, its length first.
func AppendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// A Reader reads what the Append functions wrote.
type Reader struct {
	b   []byte
	bad bool
}

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Bad reports whether the input was found damaged.
func (r *Reader) Bad() bool { return r.bad }

// Len returns how many bytes are left to read.
func (r *Reader) Len() int { return len(r.b) }

// Done reports whether the whole input was read and found sound.
func (r *Reader) Done() bool { return !r.bad && len(r.b) == 0 }

// Fail marks the input as damaged (for a reader that finds a value it
// cannot use).
func (r *Reader) Fail() { r.bad, r.b = true, nil }

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// Int reads a signed varint.
func (r *Reader) Int() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// Count reads a count, bounded by what is left of the input so that a
// damaged input cannot make the caller allocate much.
func (r *Reader) Count() int {
	n := r.Uint()
	if n > uint64(len(r.b)) {
		r.Fail()
		return 0
	}
	return int(n)
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) == 0 {
		r.Fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Fixed reads the next n bytes, without copying them.
func (r *Reader) Fixed(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.Fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// Bytes reads what AppendBytes or AppendString wrote, without copying it.
func (r *Reader) Bytes() []byte { return r.Fixed(r.Count()) }

// String reads what AppendString or AppendBytes wrote.
func (r *Reader) String() string { return string(r.Bytes()) }
