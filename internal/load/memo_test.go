package load

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/schema"
)

// TestHostNameOnlyAsValue holds the schema to what sharing a result
// between hosts that differ only in their names assumes (see memoName):
// #Host reads the host's name only as the whole value of a field
// (networking.hostName, the facts' name and scrapedBy) or to ask whether
// it is set, never to compute or decide anything else.
func TestHostNameOnlyAsValue(t *testing.T) {
	allowed := map[string]bool{"hostName": true, "name": true, "scrapedBy": true}
	field := schemaDefs(t)[string(HostDef)]
	if field == nil {
		t.Fatal("no #Host in the schema")
	}
	alias, ok := field.Value.(*ast.Alias)
	if !ok {
		t.Fatalf("%s: #Host is not written H={...}: the test cannot follow its references", field.Pos())
	}
	for _, use := range nameUses(alias.Ident.Name, alias.Expr) {
		switch {
		case use.guard:
		case use.field != "" && allowed[use.field]:
		default:
			t.Errorf("%s reads the host's name other than as a field's whole value: sharing results between hosts (memoName) would give wrong values", use.pos)
		}
	}
}

// schemaDefs returns the top-level fields of the embedded schema's files,
// parsed, by label.
func schemaDefs(t *testing.T) map[string]*ast.Field {
	t.Helper()
	names, err := fs.Glob(schema.FS, "*.cue")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]*ast.Field{}
	for _, name := range names {
		src, err := fs.ReadFile(schema.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if field, ok := d.(*ast.Field); ok {
				l, _, _ := ast.LabelName(field.Label)
				defs[l] = field
			}
		}
	}
	return defs
}

// A nameUse is a place #Host reads its name: as the whole value of the
// field called field, as a guard (`H.name != _|_`), or otherwise.
type nameUse struct {
	pos   string
	field string
	guard bool
}

// nameUses finds the references to H.name (and to the field name itself)
// in the #Host struct e, whose alias is h.
func nameUses(h string, e ast.Expr) []nameUse {
	var out []nameUse
	var stack []ast.Node
	isName := func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			id, ok := x.X.(*ast.Ident)
			l, _, _ := ast.LabelName(x.Sel)
			return ok && id.Name == h && l == nameField
		case *ast.Ident:
			// A bare `name` inside #Host refers to its name field unless
			// a nearer field is called so; count it either way. A
			// comprehension's variable of that name (for name, x in ...)
			// is not the host's name: it resolves to the clause's
			// identifier.
			switch x.Node.(type) {
			case nil, *ast.Ident, *ast.ForClause, *ast.LetClause:
				return false
			}
			return x.Name == nameField
		}
		return false
	}
	ast.Walk(e, func(n ast.Node) bool {
		if isName(n) {
			use := nameUse{pos: n.Pos().String()}
			if len(stack) > 0 {
				switch p := stack[len(stack)-1].(type) {
				case *ast.Field:
					if p.Value == n {
						use.field, _, _ = ast.LabelName(p.Label)
					}
				case *ast.BinaryExpr:
					if _, ok := p.Y.(*ast.BottomLit); ok && p.Op.String() == "!=" {
						use.guard = true
					}
				}
			}
			out = append(out, use)
			return false
		}
		stack = append(stack, n)
		return true
	}, func(ast.Node) { stack = stack[:len(stack)-1] })
	return out
}

// TestHostNamePattern checks that hostNamePattern is the schema's
// #HostName.
func TestHostNamePattern(t *testing.T) {
	ctx := cuecontext.New()
	src, err := fs.ReadFile(schema.FS, "markers.cue")
	if err != nil {
		t.Fatal(err)
	}
	v := ctx.CompileBytes(src)
	d := v.LookupPath(cue.ParsePath("#HostName"))
	f, ok := d.Source().(*ast.Field)
	if !ok {
		t.Fatalf("#HostName's source is %T", d.Source())
	}
	u, ok := f.Value.(*ast.UnaryExpr)
	if !ok {
		t.Fatalf("#HostName is %T, not =~\"...\"", d.Source())
	}
	lit, ok := u.X.(*ast.BasicLit)
	if !ok || u.Op.String() != "=~" {
		t.Fatalf("#HostName is not =~\"...\"")
	}
	got, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got != hostNamePattern {
		t.Errorf("#HostName is =~%q, hostNamePattern %q", got, hostNamePattern)
	}
}

// TestMemoSharesNameFreeResults checks that hosts differing only in their
// names are evaluated once (one cache entry for all) and that each gets
// exactly the result of its own evaluation: the reference fleet with two
// clones of every host (without the cache and the monitoring server,
// which the fleet has once, so the clones of those two hosts differ from
// them).
func TestMemoSharesNameFreeResults(t *testing.T) {
	root, _ := filepath.Abs("../..")
	src, err := os.ReadFile(filepath.Join(root, "hosts.cue"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseFile("hosts.cue", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("package fleet\n\n")
	n, distinct := 0, 0
	for _, d := range file.Decls {
		hosts, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		if l, _, _ := ast.LabelName(hosts.Label); l != string(HostsPath) {
			continue
		}
		for _, e := range hosts.Value.(*ast.StructLit).Elts {
			h, ok := e.(*ast.Field)
			if !ok {
				continue
			}
			name, _, _ := ast.LabelName(h.Label)
			v, ok := h.Value.(*ast.StructLit)
			if !ok {
				t.Fatalf("host %s is not a struct literal", name)
			}
			distinct++
			if dropField(v, "nix", "serve") || dropField(v, "features", "monitoring", "role") {
				distinct++
			}
			dropField(v, "features", "monitoring", "grafana")
			val, err := format.Node(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, suffix := range []string{"a", "b"} {
				fmt.Fprintf(&b, "hosts: %q: %s\n", name+"-"+suffix, val)
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no hosts cloned")
	}
	overlay := map[string][]byte{filepath.Join(root, "clones.cue"): b.Bytes()}
	dir := t.TempDir()
	shared := loadReference(t, dir, overlay)
	if got := len(entries(t, dir)["host"]); got != distinct {
		t.Errorf("%d hosts (%d distinct but for their names) made %d cache entries", len(shared.Hosts), distinct, got)
	}
	// Each host evaluated on its own, as without the memo.
	ctx := cuecontext.New(cuecontext.CUE_DEBUG("opendef"))
	s, d := buildSchema(ctx, shared.schemaCfg)
	if d != nil {
		t.Fatal(d)
	}
	for _, h := range shared.Hosts {
		own := &Host{Name: h.Name, Users: h.Users}
		if err := own.unify(ctx, s.LookupPath(cue.ParsePath(string(HostDef))), shared.Tree(h).Data(), true); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if diff := cmp.Diff(own.parts(), h.parts()); diff != "" {
			t.Errorf("%s: the shared result differs from its own evaluation (-own +shared):\n%s", h.Name, diff)
		}
	}
}

// dropField removes the field at path from the struct s, following
// nested struct literals, and reports whether there was one.
func dropField(s *ast.StructLit, path ...string) bool {
	for i, d := range s.Elts {
		f, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(f.Label); name != path[0] {
			continue
		}
		if len(path) == 1 {
			s.Elts = append(s.Elts[:i:i], s.Elts[i+1:]...)
			return true
		}
		if sub, ok := f.Value.(*ast.StructLit); ok && dropField(sub, path[1:]...) {
			return true
		}
	}
	return false
}

// TestNameFree checks which results may be shared.
func TestNameFree(t *testing.T) {
	for _, tc := range []struct {
		part string
		want bool
	}{
		{`{"name":"` + memoName + `","x":1}`, true},
		{`{"a":["` + memoName + `"]}`, true},
		{`{"` + memoName + `":1}`, false},
		{`{"` + memoName + `" : 1}`, false},
		{`{"a":"` + memoName + `.example.com"}`, false},
		{`{"a":"host-` + memoName + `"}`, false},
		{`{"a":1}`, true},
	} {
		if got := nameFree([][]byte{[]byte(tc.part)}); got != tc.want {
			t.Errorf("nameFree(%s) = %v, want %v", tc.part, got, tc.want)
		}
	}
	got := withName([][]byte{[]byte(`{"name":"` + memoName + `"}`), nil,
		[]byte(`["` + memoName + `","` + memoName + `x","` + memoName + `"]`), []byte(`{"a":1}`)}, "web-1")
	if string(got[0]) != `{"name":"web-1"}` || got[1] != nil || string(got[2]) != `["web-1","`+memoName+`x","web-1"]` || string(got[3]) != `{"a":1}` {
		t.Errorf("withName = %q", got)
	}
}
