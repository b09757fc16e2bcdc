package fleet_test

import (
	"testing"

	"fleetnix.dev/fleet/fleet"
)

// TestClonesBenchFleet: the benchmarks' fleet of 320 hosts, the reference
// hosts cloned, generates the same files (source maps included) and vet
// findings with and without sharing the files of hosts alike, and all
// but the first host of each reference host's clones share; so does the
// distinct fleet, where no two hosts are alike.
func TestClonesBenchFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 320 hosts twice")
	}
	dir := t.TempDir()
	writeFleet(t, dir, 320, false)
	// The five reference hosts are made alone, and so is the first clone
	// of each.
	hits, members, refs, facts := fleet.BestMemoHits(), fleet.ClassMembers(), fleet.RefHits(), fleet.FactRefHits()
	if n := fleet.CompareShared(t, dir); n != 320-10 {
		t.Errorf("%d hosts shared, want %d", n, 320-10)
	}
	t.Logf("%d hosts located in their class's lead's tree, %d origins and %d facts' from a ref", fleet.ClassMembers()-members, fleet.RefHits()-refs, fleet.FactRefHits()-facts)
	if fleet.RefHits() == refs || fleet.FactRefHits() == facts {
		t.Error("no origin of a value or of a fact of hosts alike made from another's: the test proves nothing")
	}
	if fleet.BestMemoHits() == hits {
		t.Error("no host's source map took a best leaf from the memo of hosts alike")
	}
	t.Logf("%d best leaves from the memo", fleet.BestMemoHits()-hits)
	dir = t.TempDir()
	writeFleet(t, dir, 70, true)
	if n := fleet.CompareShared(t, dir); n != 0 {
		t.Errorf("%d hosts of the distinct fleet shared, want none", n)
	}
}
