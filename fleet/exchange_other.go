//go:build !linux

package fleet

import "os"

// exchange swaps the directories a and b. Without an atomic exchange it
// moves b aside and a into place; b is missing for that moment only.
func exchange(a, b string) error {
	old := a + ".old"
	if err := os.Rename(b, old); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		os.Rename(old, b)
		return err
	}
	return os.Rename(old, a)
}
