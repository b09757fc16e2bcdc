package wire

import (
	"bytes"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendUint(b, math.MaxUint64)
	b = AppendInt(b, -5)
	b = AppendString(b, "héllo")
	b = AppendBytes(b, []byte{0, 1, 2})
	b = append(b, 7)
	r := NewReader(b)
	if got := r.Uint(); got != math.MaxUint64 {
		t.Errorf("Uint = %d", got)
	}
	if got := r.Int(); got != -5 {
		t.Errorf("Int = %d", got)
	}
	if got := r.String(); got != "héllo" {
		t.Errorf("String = %q", got)
	}
	if got := r.Bytes(); !bytes.Equal(got, []byte{0, 1, 2}) {
		t.Errorf("Bytes = %v", got)
	}
	if got := r.Byte(); got != 7 {
		t.Errorf("Byte = %d", got)
	}
	if !r.Done() {
		t.Errorf("not done: bad %v, %d bytes left", r.Bad(), r.Len())
	}
}

// TestDamaged cuts a record at every length: the reader reports it bad
// (never panics, never returns a string longer than the input) and
// returns zero values after.
func TestDamaged(t *testing.T) {
	full := AppendString(AppendUint(nil, 300), "a string of some length")
	for n := range len(full) {
		r := NewReader(full[:n])
		r.Uint()
		s := r.String()
		if !r.Bad() {
			t.Errorf("cut at %d: not reported bad (read %q)", n, s)
		}
		if s != "" || r.Uint() != 0 || r.Count() != 0 || r.Byte() != 0 || r.Len() != 0 {
			t.Errorf("cut at %d: values read after the damage", n)
		}
	}
	// A length larger than the input is damage, not an allocation.
	if r := NewReader(AppendUint(nil, 1<<40)); r.Count() != 0 || !r.Bad() {
		t.Error("a count past the input was accepted")
	}
}
