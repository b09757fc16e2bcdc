package lint

import (
	"math/rand"
	"testing"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// TestClaims checks the claims index against the pairwise test it
// replaces, on random edits.
func TestClaims(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	for round := 0; round < 2000; round++ {
		var c claims
		var taken []TextEdit
		for k := 0; k < 12; k++ {
			p := syntax.Pos(1 + rng.Intn(30))
			e := TextEdit{Pos: p, End: p + syntax.Pos(rng.Intn(4))}
			want := false
			for _, o := range taken {
				want = want || overlaps(e, o)
			}
			if got := c.overlaps(e); got != want {
				t.Fatalf("edit %v against %v: claims say %v, pairwise %v", e, taken, got, want)
			}
			if !want {
				c.add(e)
				taken = append(taken, e)
			}
		}
	}
}

// TestTouched checks that spans move with the edits made before them
// and that the edits' own text is added.
func TestTouched(t *testing.T) {
	// "aaXXbbYYcc": spans over XX [3,5) and YY [7,9) (1-based Pos).
	old := []Span{{3, 5}, {7, 9}}
	edits := []TextEdit{{Pos: 1, End: 2, NewText: "ZZZ"}, {Pos: 7, End: 9}} // a -> ZZZ, delete YY
	got := touched(old, edits)
	want := []Span{{1, 4}, {5, 7}, {9, 9}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
