package fleet

import "fleetnix.dev/fleet/internal/emit"

// SetShareClones turns the sharing of hosts' files on or off (see
// cloneGroup), for tests outside the package; it returns how to undo it.
func SetShareClones(on bool) func() {
	old := shareClones
	shareClones = on
	return func() { shareClones = old }
}

// Cloned returns how many hosts' files were made from their group's.
func Cloned() int64 { return cloned.Load() }

// GeneratedFiles returns the fleet's generated files, sorted by path.
func (f *Fleet) GeneratedFiles() ([]emit.File, error) {
	files, _, err := f.files("")
	return files, err
}

// BestMemoHits returns how many of the source map's best leaves were
// taken from the memo of hosts alike.
func BestMemoHits() int64 { return bestMemoHits.Load() }

// ClassMembers returns how many hosts' origins were located in the tree
// of their class's lead (see classSources).
func ClassMembers() int64 { return classMembers.Load() }

// RefHits returns how many origins of hosts alike were made from a ref
// another host of their class found (see relocated).
func RefHits() int64 { return refHits.Load() }

// FactRefHits returns how many origins of facts of hosts alike were made
// from a ref another host of their class found (see explainOwnFact).
func FactRefHits() int64 { return factRefHits.Load() }
