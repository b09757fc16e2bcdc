package fleet

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// checkMarkers checks what the schema cannot: every raw Nix expression
// ({$nix: ...}) parses, and every secret reference ({$secret: ...}) names
// a declared secret. Problems are reported where the user wrote the
// value, once per place even when several hosts share the layer.
func (f *Fleet) checkMarkers() diag.List {
	var diags diag.List
	seen := map[diag.Range]bool{}
	// The diagnostics are sorted at the end: the leaves need no order.
	for _, h := range f.hosts {
		h.tree().Walk(nil, func(path []string, n *merge.Node) {
			o := n.Leaf()
			m, ok := o.Value.(map[string]any)
			if !ok || len(m) != 1 || seen[o.Range] {
				return
			}
			if src, ok := m["$nix"].(string); ok {
				seen[o.Range] = true
				if d := checkNix(o.Range, "hosts."+h.Name+"."+strings.Join(path, "."), src); d != nil {
					diags.Add(*d)
				}
			}
			if name, ok := m["$secret"].(string); ok {
				seen[o.Range] = true
				if _, ok := f.l.Secrets[name]; !ok {
					d := diag.Diagnostic{
						Severity: diag.Error,
						Range:    o.Range,
						Path:     append([]string{"hosts", h.Name}, path...),
						Summary:  fmt.Sprintf("hosts.%s.%s: secret %q is not declared", h.Name, strings.Join(path, "."), name),
						Detail:   "declare it under secrets, with its owner, group and mode",
					}
					if s := diag.Nearest(name, sortedNames(f.l.Secrets)); s != "" {
						d.Detail = fmt.Sprintf("did you mean %q? Otherwise declare it under secrets.", s)
					}
					diags.Add(d)
				}
			}
		})
	}
	diags.Sort()
	return diags
}

// checkNix parses a raw Nix expression written at r.
func checkNix(r diag.Range, path, src string) *diag.Diagnostic {
	_, errs := syntax.ParseIn("expression", []byte(src), emit.ModuleArgs...)
	if len(errs) == 0 {
		return nil
	}
	var detail []string
	for _, e := range errs {
		detail = append(detail, fmt.Sprintf("column %d of the expression: %s", e.Range.Start.Col, e.Summary))
	}
	return &diag.Diagnostic{
		Severity: diag.Error,
		Range:    r,
		Summary:  fmt.Sprintf("%s: raw Nix expression does not parse: %q", path, src),
		Detail:   strings.Join(detail, "\n"),
	}
}

// checkInputs checks that the flake has the inputs the hosts' enabled
// features need (#Host.#inputs), each providing the NixOS module the host
// imports, if any: a feature turned on without its input would fail only
// when Nix evaluates the flake. Problems are reported at the host's field
// that needs the input.
func (f *Fleet) checkInputs() diag.List {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return diag.List{{Severity: diag.Error, Summary: fmt.Sprintf("reading settings: %v", err)}}
	}
	var diags diag.List
	for _, h := range f.hosts {
		if len(h.h.Inputs) == 0 {
			continue
		}
		var need map[string]struct {
			Module string `json:"module"`
			Field  string `json:"field"`
			URL    string `json:"url"`
		}
		if err := json.Unmarshal(h.h.Inputs, &need); err != nil {
			diags.Add(diag.Diagnostic{Severity: diag.Error, Range: h.h.Decl, Summary: fmt.Sprintf("hosts.%s: reading #inputs: %v", h.Name, err)})
			continue
		}
		for _, name := range sortedNames(need) {
			n := need[name]
			in, ok := s.Inputs[name]
			if ok && (n.Module == "" || in.NixOSModules[n.Module]) {
				continue
			}
			r := h.h.Decl
			if path, err := ParsePath(n.Field); err == nil {
				if node, _ := h.tree().Nearest(path); node != nil {
					if nr, ok := nodeRange(node); ok {
						r = nr
					}
				}
			}
			what := fmt.Sprintf("the flake input %q", name)
			if ok {
				what = fmt.Sprintf("%q among the nixosModules of the flake input %q", n.Module, name)
			}
			url := n.URL
			if url == "" {
				url = "..."
			}
			example := fmt.Sprintf("%s: {url: %q, nixosModules: %q: true}", cueLabel(name), url, n.Module)
			if n.Module == "" {
				example = fmt.Sprintf("%s: url: %q", cueLabel(name), url)
			}
			diags.Add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    r,
				Path:     []string{"hosts", h.Name},
				Summary:  fmt.Sprintf("hosts.%s.%s needs %s", h.Name, n.Field, what),
				Detail:   "add it to settings.inputs, e.g. " + example,
			})
		}
	}
	diags.Sort()
	return diags
}

// nodeRange returns where the value n was written: a leaf's own position,
// a struct's declaration, or, for a struct without one (made by fleet),
// its first leaf's position.
func nodeRange(n *merge.Node) (diag.Range, bool) {
	if o := n.Leaf(); o != nil {
		return o.Range, o.Range.Start.IsValid()
	}
	if o := n.Decl(); o != nil && o.Range.Start.IsValid() {
		return o.Range, true
	}
	var r diag.Range
	n.Leaves(nil, func(_ []string, l *merge.Node) {
		if !r.Start.IsValid() {
			r = l.Leaf().Range
		}
	})
	return r, r.Start.IsValid()
}

// cueLabel writes a field label as CUE reads it: bare when it is an
// identifier, quoted otherwise ("claude-desktop").
func cueLabel(s string) string {
	if ast.IsValidIdent(s) {
		return s
	}
	return strconv.Quote(s)
}
