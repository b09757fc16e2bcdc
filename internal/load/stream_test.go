package load

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
	"weak"

	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/schema"
)

// TestLoadStreamsTrees checks that a load keeps alive only the merged
// trees of the hosts in flight, not the fleet's: when a host is checked
// (Config.Check, while the load has its tree), the trees of the hosts
// checked before it that survive a collection are at most those the
// other workers hold; after the load none survives and no host holds
// one. Each host is merged once (its checks need no second merge), and
// its own entry is kept encoded; hosts that differ only by name keep
// their results once.
func TestLoadStreamsTrees(t *testing.T) {
	var b strings.Builder
	b.WriteString("package fleet\n\n")
	for i := range 24 {
		fmt.Fprintf(&b, "hosts: \"clone%02d\": hosts.razer\n", i)
	}
	root, _ := filepath.Abs("../..")
	overlay := map[string][]byte{filepath.Join(root, "clones.cue"): []byte(b.String())}
	var mu sync.Mutex
	var trees []weak.Pointer[merge.Node]
	checks := map[string]int{}
	most := 0
	f, d := Load(context.Background(), &Config{Dir: root, Schema: schema.FS, Overlay: overlay,
		NixOS: true,
		Check: func(h *Host, tree *merge.Node, _ []string) any {
			mu.Lock()
			defer mu.Unlock()
			checks[h.Name]++
			runtime.GC()
			alive := 0
			for _, p := range trees {
				if p.Value() != nil {
					alive++
				}
			}
			most = max(most, alive)
			trees = append(trees, weak.Make(tree))
			return h.Name
		}})
	if f == nil || d.HasErrors() {
		t.Fatal(d)
	}
	if len(f.Hosts) < 24 {
		t.Fatalf("%d hosts", len(f.Hosts))
	}
	if workers := min(runtime.NumCPU(), 8); most > workers-1 {
		t.Errorf("%d trees of hosts checked earlier alive at a host's check, want at most %d (the other workers')", most, workers-1)
	}
	merged := map[string]int{}
	for _, name := range f.Merged() {
		merged[name]++
	}
	for _, h := range f.Hosts {
		if checks[h.Name] != 1 || merged[h.Name] != 1 {
			t.Errorf("%s: checked %d times, merged %d times, want once each", h.Name, checks[h.Name], merged[h.Name])
		}
		if h.Tree != nil || h.Checked != h.Name {
			t.Errorf("%s: the load kept its tree (%v) or not its check (%v)", h.Name, h.Tree != nil, h.Checked)
		}
		if e := f.layers.hosts[h.Name]; e.tree != nil || e.enc == nil {
			t.Errorf("%s: its entry's tree is kept decoded", h.Name)
		}
	}
	runtime.GC()
	for i, p := range trees {
		if p.Value() != nil {
			t.Errorf("tree %d alive after the load", i)
		}
	}
	// The clones keep their value, NixOS configuration and fragments
	// once, and give them with their own names.
	var first *Host
	for _, h := range f.Hosts {
		if !strings.HasPrefix(h.Name, "clone") {
			continue
		}
		if !h.named || !bytes.Contains(h.JSON(), []byte(`"`+h.Name+`"`)) || bytes.Contains(h.NixOS(), []byte(memoName)) {
			t.Errorf("%s: not named (%v), or its value or configuration lacks its name", h.Name, h.named)
		}
		if first == nil {
			first = h
		} else if unsafe.SliceData(h.valueJSON) != unsafe.SliceData(first.valueJSON) || unsafe.SliceData(h.fragsJSON) != unsafe.SliceData(first.fragsJSON) {
			t.Errorf("%s keeps a value of its own, not %s's", h.Name, first.Name)
		}
	}
	// Merged again on demand, the same tree.
	if again := f.Tree(f.Hosts[0]); again == nil || again.Field(nameField) == nil {
		t.Errorf("%s: no tree merged again", f.Hosts[0].Name)
	}
}
