package internal_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The import policy of fleet. It is a statement of policy, not a record of
// what the code happens to import: a failure here means the change needs a
// different design, not an edit of this table. Each package may import the
// standard library, the packages listed for it, and anything under the
// third-party prefixes listed for it. Packages not in the table may not
// exist: adding a room is a decision made here first.
var policy = map[string][]string{
	"cmd/fleetgen":           {"internal/cli"},
	"internal/cli":           {"fleet"},
	"fleet":                  {"internal/load", "internal/merge", "internal/emit", "internal/lint", "internal/lint/rules", "internal/nix/syntax", "internal/nix/format", "internal/build", "internal/model", "internal/diag", "internal/nixerr", "internal/nixos", "internal/hwimport", "internal/disko", "internal/wire", "schema", "cuelang.org/go/", "golang.org/x/sys/unix"},
	"internal/load":          {"schema", "internal/model", "internal/diag", "internal/merge", "internal/wire", "cuelang.org/go/", "golang.org/x/sync/errgroup"},
	"internal/merge":         {"internal/diag", "internal/wire", "cuelang.org/go/"},
	"internal/emit":          {"internal/wire", "internal/nix/syntax", "internal/nix/format", "internal/model", "internal/diag", "internal/disko", "cuelang.org/go/"},
	"internal/lint/rules":    {"internal/lint", "internal/nix/syntax", "internal/diag"},
	"internal/lint":          {"internal/nix/syntax", "internal/diag"},
	"internal/lint/linttest": {"internal/lint", "internal/nix/syntax", "internal/diag", "golang.org/x/tools/txtar", "github.com/rogpeppe/go-internal/txtar"},
	"internal/nix/format":    {"internal/nix/syntax", "internal/diag"},
	"internal/hwimport":      {"internal/nix/syntax", "internal/diag", "github.com/santhosh-tekuri/jsonschema/v5"},
	"internal/disko":         {"internal/nix/syntax", "internal/nix/format", "internal/diag"},
	"internal/nixos":         {"internal/nix/syntax", "internal/diag"},
	"internal/nix/syntax":    {"internal/diag"},
	"internal/build":         {"internal/model", "golang.org/x/sync/errgroup", "golang.org/x/term"},
	"internal/nixerr":        {},
	"internal/model":         {},
	"internal/diag":          {},
	"internal/wire":          {},
	"internal/fleettest":     {"github.com/rogpeppe/go-internal/"},
	"schema":                 {},
}

// testOnly packages may be imported from _test.go files only.
var testOnly = []string{"internal/fleettest", "internal/lint/linttest"}

const module = "fleetnix.dev/fleet"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func TestImportPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if name == "" || name == "internal" {
			continue
		}
		allowed, ok := policy[name]
		if !ok {
			t.Errorf("package %s is not in the import policy; add it to internal/deps_test.go deliberately", name)
			continue
		}
		for _, imp := range p.Imports {
			if !allowedImport(imp, allowed) {
				t.Errorf("%s may not import %s", name, imp)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list reported only %d packages; the policy check saw too little", seen)
	}
}

func allowedImport(imp string, allowed []string) bool {
	first := strings.SplitN(imp, "/", 2)[0]
	if !strings.Contains(first, ".") {
		return true // standard library
	}
	if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
		for _, a := range allowed {
			if rest == a {
				return true
			}
		}
		return false
	}
	for _, a := range allowed {
		if imp == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a)) {
			return true
		}
	}
	return false
}

func TestPolicyRejects(t *testing.T) {
	// The checker itself must say no; otherwise the policy test cannot fail.
	if allowedImport(module+"/fleet", policy["internal/load"]) {
		t.Error("internal/load importing fleet was allowed")
	}
	if allowedImport("cuelang.org/go/cue", policy["internal/nix/syntax"]) {
		t.Error("internal/nix/syntax importing CUE was allowed")
	}
	if !allowedImport("cuelang.org/go/cue/load", policy["internal/load"]) {
		t.Error("internal/load importing cue/load was refused")
	}
	for _, p := range testOnly {
		for name, allowed := range policy {
			if allowedImport(module+"/"+p, allowed) && name != p {
				t.Errorf("%s may import test-only %s", name, p)
			}
		}
	}
}
