package fleet

import (
	"fmt"
	"strings"

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
	for _, h := range f.hosts {
		h.h.Tree.Leaves(nil, func(path []string, n *merge.Node) {
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
