package fleet

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedLayerProblemOnce checks that a problem in a layer several
// hosts share (the workstation template, used by p510 and p620) is
// reported once, at the first of those hosts in the fleet's order,
// whichever host the load checks first, with or without the cache (which
// checks each host alone, then all together when one has a problem); and
// that a problem of a host's own is reported for that host.
func TestSharedLayerProblemOnce(t *testing.T) {
	root, _ := filepath.Abs(referenceFleet)
	overlay := map[string][]byte{filepath.Join(root, "zz_shared.cue"): []byte(`package fleet

templates: workstation: nixos: services: shared: passwordFile: {$secret: "not-declared"}
hosts: p620: nixos: services: own: passwordFile: {$secret: "not-declared-either"}
`)}
	cache := t.TempDir()
	for _, dir := range []string{"", cache, cache} {
		_, err := Load(context.Background(), &Config{Dir: referenceFleet, CacheDir: dir, Overlay: overlay})
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("cache %q: %v, want errors", dir, err)
		}
		var got []string
		for _, e := range errs {
			got = append(got, e.Summary)
		}
		if len(got) != 2 || !strings.Contains(got[0], "hosts.p510.nixos.services.shared.passwordFile: secret \"not-declared\" is not declared") ||
			!strings.Contains(got[1], "hosts.p620.nixos.services.own.passwordFile: secret \"not-declared-either\" is not declared") {
			t.Errorf("cache %q: errors\n%s\nwant the shared layer's at p510 once and p620's own", dir, strings.Join(got, "\n"))
		}
	}
}
