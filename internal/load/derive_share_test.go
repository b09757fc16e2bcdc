package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"
	"github.com/google/go-cmp/cmp"

	"fleetnix.dev/fleet/schema"
)

// referenceFacts loads the reference fleet and returns the schema's
// configuration and its hosts, which have facts.
func referenceFacts(t testing.TB) (*cueload.Config, []*Host) {
	t.Helper()
	f, d := Load(context.Background(), &Config{Dir: "../..", Schema: schema.FS})
	if f == nil {
		t.Fatal(d)
	}
	return f.schemaCfg, f.Hosts
}

// factsOf returns h's facts decoded, for editing.
func factsOf(t testing.TB, h *Host) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.Facts, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// factsHost returns a host called name with the facts m.
func factsHost(t testing.TB, name string, m map[string]any) *Host {
	t.Helper()
	m["name"] = name
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return &Host{Name: name, Facts: b}
}

// benchFacts returns the facts of a fleet shaped like the benchmarks'
// (fleet/bench_test.go, writeFleet): the reference hosts, then n-5
// clones of them round-robin, called name-%04d, without the binary cache
// and reporting to dex5550 (their template's monitoring client).
func benchFacts(t testing.TB, ref []*Host, n int) []*Host {
	t.Helper()
	var out []*Host
	for i := 0; i < n; i++ {
		r := ref[i%len(ref)]
		m := factsOf(t, r)
		name := r.Name
		if i >= len(ref) {
			name = fmt.Sprintf("%s-%04d", r.Name, i)
			delete(m, "cache")
			mon := m["monitoring"].(map[string]any)
			if mon["server"] == true {
				mon["server"] = false
				mon["serverHost"] = "dex5550"
				mon["scrapedBy"] = "dex5550"
				delete(mon, "loki")
				delete(mon, "grafana")
			}
		}
		out = append(out, factsHost(t, name, m))
	}
	return out
}

// passResult is what the fleet pass gives a fleet: each host's
// derivation and the errors, as text.
type passResult struct {
	ff      fleetFacts
	derived map[string]string
	errs    []string
}

// runPass runs the fleet pass over copies of hosts with the sharing of
// #FleetFacts and of derivations set as asked, and no cache.
func runPass(t *testing.T, cfg *cueload.Config, hosts []*Host, facts, derivations bool) passResult {
	t.Helper()
	defer func(f, d bool, m int) { shareFacts, shareDerive, minFactsShared = f, d, m }(shareFacts, shareDerive, minFactsShared)
	shareFacts, shareDerive, minFactsShared = facts, derivations, 0
	hs := make([]*Host, len(hosts))
	for i, h := range hosts {
		hs[i] = &Host{Name: h.Name, Facts: h.Facts, Decl: h.Decl}
	}
	r := passResult{derived: map[string]string{}}
	for _, d := range derive(context.Background(), cfg, nil, hs) {
		r.errs = append(r.errs, d.Error())
	}
	for _, h := range hs {
		r.derived[h.Name] = string(h.Derived)
	}
	// The fleet's facts alone, to compare them byte for byte.
	all, _ := json.Marshal(map[string]any{"hosts": factsMap(hs)})
	ws := newWorkers(2, cfg)
	var d []string
	ff, dl := fleetFactsOf(context.Background(), ws, hs, all)
	for _, e := range dl {
		d = append(d, e.Error())
	}
	r.ff = ff
	if len(d) > 0 && len(r.errs) == 0 {
		t.Errorf("#FleetFacts failed alone but not in the pass: %q", d)
	}
	return r
}

func factsMap(hs []*Host) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for _, h := range hs {
		m[h.Name] = h.Facts
	}
	return m
}

// comparePass runs the fleet pass with every combination of sharing and
// fails when one differs from the pass with none, byte for byte.
func comparePass(t *testing.T, cfg *cueload.Config, hosts []*Host) passResult {
	t.Helper()
	want := runPass(t, cfg, hosts, false, false)
	for _, c := range []struct{ facts, derivations bool }{{true, false}, {false, true}, {true, true}} {
		got := runPass(t, cfg, hosts, c.facts, c.derivations)
		name := fmt.Sprintf("facts shared %v, derivations shared %v", c.facts, c.derivations)
		if fmt.Sprint(got.errs) != fmt.Sprint(want.errs) {
			t.Errorf("%s: errors\n%q\nwant\n%q", name, got.errs, want.errs)
		}
		if !bytes.Equal(got.ff.Shared, want.ff.Shared) || fmt.Sprint(got.ff.PerHost) != fmt.Sprint(want.ff.PerHost) {
			t.Errorf("%s: #FleetFacts\n%s\n%s\nwant\n%s\n%s", name, got.ff.Shared, got.ff.PerHost, want.ff.Shared, want.ff.PerHost)
		}
		for _, h := range hosts {
			if got.derived[h.Name] != want.derived[h.Name] {
				t.Errorf("%s: %s derived\n%s\nwant\n%s", name, h.Name, got.derived[h.Name], want.derived[h.Name])
			}
		}
	}
	return want
}

// TestFleetPassSharedBench compares the fleet pass shared with the pass
// unshared on a fleet shaped like the benchmarks', and checks that it was
// shared: all hosts but the reference ones, whose facts or inputs hold
// their names in longer strings (root@p620) or in the fleet's facts.
func TestFleetPassSharedBench(t *testing.T) {
	cfg, ref := referenceFacts(t)
	hosts := benchFacts(t, ref, 160)
	f0, d0, m0 := factsShared.Load(), derivedShared.Load(), factsMerged.Load()
	want := comparePass(t, cfg, hosts)
	if got := factsMerged.Load() - m0; got != 4 {
		t.Errorf("#FleetFacts made from shares %d times, want 4 (two runs, alone and in the pass)", got)
	}
	if len(want.errs) > 0 {
		t.Fatalf("the bench fleet failed the pass: %q", want.errs)
	}
	// Facts are shared in two runs, and made again alone in each;
	// derivations are shared in two runs.
	if got := (factsShared.Load() - f0) / 4; got != int64(len(hosts)-len(ref)) {
		t.Errorf("%d hosts' facts shared, want %d", got, len(hosts)-len(ref))
	}
	if got := (derivedShared.Load() - d0) / 2; got != int64(len(hosts)-len(ref)) {
		t.Errorf("%d hosts' derivations shared, want %d", got, len(hosts)-len(ref))
	}
	if want.derived["dex5550"] == "" || want.derived["razer-0008"] == "" {
		t.Fatal("the monitoring server or a client derived nothing")
	}
	// As the distinct fleet: every host's address holds its name, so
	// no host is alike another, and the shares are of chunks of hosts.
	for _, h := range hosts {
		m := factsOf(t, h)
		m["address"] = h.Name + ".bench.example.com"
		m["hostPort"] = m["address"]
		*h = *factsHost(t, h.Name, m)
	}
	f0, d0, m0 = factsShared.Load(), derivedShared.Load(), factsMerged.Load()
	comparePass(t, cfg, hosts)
	if factsShared.Load() != f0 || derivedShared.Load() != d0 {
		t.Error("hosts of the distinct fleet shared")
	}
	if got := factsMerged.Load() - m0; got != 4 {
		t.Errorf("#FleetFacts of the distinct fleet made from shares %d times, want 4", got)
	}
}

// TestFleetPassSharedAdversarial compares the shared fleet pass with the
// pass unshared on fleets made to catch a wrong sharing.
func TestFleetPassSharedAdversarial(t *testing.T) {
	cfg, ref := referenceFacts(t)
	byName := map[string]*Host{}
	for _, h := range ref {
		byName[h.Name] = h
	}
	client := func(name, server string) *Host {
		m := factsOf(t, byName["razer"])
		mon := m["monitoring"].(map[string]any)
		mon["serverHost"], mon["scrapedBy"] = server, server
		return factsHost(t, name, m)
	}
	cache := func(name, server string) *Host {
		h := client(name, server)
		m := factsOf(t, h)
		m["cache"] = map[string]any{"url": "http://cache:5000", "publicKey": "p620-cache-1:CMPHuW3KtQ/nLgm58ktLChxut34DtrPaamBq2v2usSQ="}
		return factsHost(t, name, m)
	}
	server := func(name string) *Host {
		m := factsOf(t, byName["dex5550"])
		m["monitoring"].(map[string]any)["scrapedBy"] = name
		return factsHost(t, name, m)
	}
	for _, tc := range []struct {
		name  string
		hosts []*Host
	}{{
		// web-1 is inside the cache web-10's name, web is inside every
		// client's: a client alike the others but for its name that
		// is a cache's must not get its own cache.
		"cache names inside other names",
		[]*Host{server("mon"), cache("web", "mon"), cache("web-10", "mon"), client("web-1", "mon"),
			client("web-2", "mon"), client("we", "mon"), cache("web-3", "mon"), client("web-4", "mon")},
	}, {
		// Two monitoring servers alike but for their names, each with
		// clients alike; a client of one named like a job.
		"servers alike",
		[]*Host{server("mon-a"), server("mon-b"), client("node", "mon-a"), client("c-1", "mon-a"),
			client("c-2", "mon-b"), client("c-3", "mon-b"), client("systemd", "mon-b")},
	}, {
		// Hosts reporting to a server named like a client's value, and
		// a client that names itself as its server (an error: it is no
		// monitoring server), twice, alike.
		"scrapedBy names",
		[]*Host{server("razer"), client("a", "razer"), client("b", "razer"), client("self", "self"), client("self-2", "self-2")},
	}, {
		// A host whose name is a placeholder's.
		"placeholder names",
		[]*Host{server("mon"), client(passName, "mon"), client("x", "mon"), client(passName2, "mon"), client("y", "mon")},
	}, {
		// A server whose address is its name: it is in the clients'
		// scrape targets and Loki's URL.
		"name as address",
		func() []*Host {
			s := server("mon")
			m := factsOf(t, s)
			m["address"], m["hostPort"] = "mon", "mon"
			c := client("c-1", "mon")
			mc := factsOf(t, c)
			mc["address"], mc["hostPort"] = "c-1", "c-1"
			mc2 := factsOf(t, c)
			mc2["address"], mc2["hostPort"] = "c-2", "c-2"
			return []*Host{factsHost(t, "mon", m), factsHost(t, "c-1", mc), factsHost(t, "c-2", mc2), client("c-3", "mon"), client("c-4", "mon")}
		}(),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			comparePass(t, cfg, tc.hosts)
		})
	}
}

// TestFleetFactsSharedConflict: shares of #FleetFacts that conflict give
// the whole evaluation's error, at the same place, and a schema whose
// #FleetFacts is not a union of shares is evaluated whole.
func TestFleetFactsSharedConflict(t *testing.T) {
	// a's job b-c and a-b's job c both make the target "a-b-c".
	t.Run("shares", func(t *testing.T) {
		compareFleetFactsErrors(t, &deriveSchemaFS, "conflicting values", `
hosts: mon: {server: true, exporters: node: 9100}
hosts: a: {serverHost: "mon", exporters: "b-c": 1}
hosts: "a-b": {serverHost: "mon", exporters: c: 2}
hosts: "a-c": {serverHost: "mon", exporters: c: 2}
`)
	})
	t.Run("constraint of the whole", func(t *testing.T) {
		if src, _ := fs.ReadFile(&deriveSchemaTwoTargets, "schema.cue"); !strings.Contains(string(src), "MaxFields") {
			t.Fatal("the schema with two targets has no MaxFields")
		}
		compareFleetFactsErrors(t, &deriveSchemaTwoTargets, "MaxFields", `
hosts: mon: {server: true, exporters: node: 9100}
hosts: a: {serverHost: "mon", exporters: c: 2}
hosts: b: {serverHost: "mon", exporters: d: 2}
`)
	})
}

// compareFleetFactsErrors loads the fleet hosts with the schema schemaFS
// with #FleetFacts made from shares and whole, and fails unless both
// give the same errors.
func compareFleetFactsErrors(t *testing.T, schemaFS fs.FS, wantErr, hosts string) {
	defer func(m int) { minFactsShared = m }(minFactsShared)
	minFactsShared = 0
	run := func(share bool) []string {
		defer func(s bool) { shareFacts = s }(shareFacts)
		shareFacts = share
		f, msgs := deriveFleetWith(t, schemaFS, hosts)
		if f != nil {
			t.Fatal("conflicting facts were accepted")
		}
		// Each fleet is in a directory of its own.
		for i, m := range msgs {
			msgs[i] = tempDir.ReplaceAllString(m, "/N/")
		}
		return msgs
	}
	want := run(false)
	if got := run(true); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors shared:\n%q\nwhole:\n%q", got, want)
	}
	if len(want) == 0 || !strings.Contains(want[0], wantErr) {
		t.Fatalf("errors %q, want one of %s", want, wantErr)
	}
}

// deriveSchemaTwoTargets is deriveSchema with at most two targets per
// server: a constraint of the whole that no host's share breaks.
var deriveSchemaTwoTargets = fstest.MapFS{"schema.cue": {Data: []byte(strings.NewReplacer(
	"package schema\n", "package schema\n\nimport \"struct\"\n",
	"\tperHost: {\n", "\tperHost: [string]: targets: struct.MaxFields(2)\n\tperHost: {\n").Replace(deriveSchema))}}

var tempDir = regexp.MustCompile(`/[0-9]{3}/`)

// TestPerHostAggregate: which #FleetFacts are unions of each host's share.
func TestPerHostAggregate(t *testing.T) {
	ctx := cuecontext.New()
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{deriveSchema, true},
		{`#FleetFacts: F={hosts: [string]: {}, n: len(F.hosts)}`, false},
		{`#FleetFacts: F={hosts: [string]: {}, n: {count: len(F.hosts)}}`, false},
		{`#FleetFacts: F={hosts: [string]: {x: int}, p: {for a, x in F.hosts for b, y in F.hosts if x.x == y.x {"\(a)": b}}}`, false},
		{`#FleetFacts: F={hosts: [string]: {x: int}, s: {for a, x in F.hosts {(a): x.x}}, t: {for a, x in F.hosts {(a): s[a]}}}`, false},
		{`#FleetFacts: F={hosts: [string]: {x: int}, s: {for a, x in F.hosts if len(F.hosts) > 1 {(a): x.x}}}`, false},
		{`#FleetFacts: {hosts: [string]: {x: int}, s: {for a, x in hosts {(a): x.x}}}`, false},
		{`#FleetFacts: F={hosts: [string]: {x: int}, s: {for a, x in F.hosts {(a): x.x}}, s: [string]: int}`, true},
	} {
		v := ctx.CompileString(tc.src)
		if got := perHostAggregate(v.LookupPath(cue.ParsePath(string(FleetFactsDef)))); got != tc.want {
			t.Errorf("perHostAggregate(%s) = %v, want %v", tc.src, got, tc.want)
		}
	}
	cfg, _ := referenceFacts(t)
	ws := newWorkers(1, cfg)
	if err := ws[0].init(); err != nil {
		t.Fatal(err)
	}
	if !perHostAggregate(ws[0].def(FleetFactsDef)) {
		t.Error("the schema's #FleetFacts is not taken for a union of shares: the fleet pass evaluates it whole")
	}
}

// TestDeriveNameOnlyAsValue holds #Derive to what sharing a derivation
// between hosts alike but for their names assumes (derive_share.go): it
// reads the host's name only as a field's whole value or to compare it
// for equality.
func TestDeriveNameOnlyAsValue(t *testing.T) {
	field := schemaDefs(t)[string(DeriveDef)]
	if field == nil {
		t.Fatal("no #Derive in the schema")
	}
	alias, ok := field.Value.(*ast.Alias)
	if !ok {
		t.Fatalf("%s: #Derive is not written D={...}", field.Pos())
	}
	for _, use := range derivedNameUses(alias.Ident.Name, alias.Expr) {
		t.Errorf("%s reads the host's name other than as a field's value or in == or !=: sharing derivations between hosts would give wrong values", use)
	}
}

// derivedNameUses returns the places in e, the body of #Derive aliased d,
// that read d.name other than as a field's whole value or an operand of
// == or != whose other operand is of the input (fromInput).
func derivedNameUses(d string, e ast.Expr) []string {
	var bad []string
	var stack []ast.Node
	ast.Walk(e, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if id, isID := n.(*ast.Ident); isID && id.Name == nameField && len(stack) > 0 {
			// A bare reference to the name field.
			if f, ok := stack[len(stack)-1].(*ast.Field); !ok || f.Label != ast.Label(id) {
				if _, ok := stack[len(stack)-1].(*ast.SelectorExpr); !ok {
					bad = append(bad, id.Pos().String())
				}
			}
		}
		if ok {
			x, isID := sel.X.(*ast.Ident)
			if l, _, _ := ast.LabelName(sel.Sel); isID && x.Name == d && l == nameField {
				okUse := false
				switch p := stack[len(stack)-1].(type) {
				case *ast.Field:
					okUse = p.Value == n
				case *ast.BinaryExpr:
					other := p.X
					if other == n {
						other = p.Y
					}
					okUse = (p.Op.String() == "==" || p.Op.String() == "!=") && fromInput(other, d, stack)
				}
				if !okUse {
					bad = append(bad, sel.Pos().String())
				}
				return false
			}
		}
		stack = append(stack, n)
		return true
	}, func(n ast.Node) {
		if len(stack) > 0 && stack[len(stack)-1] == n {
			stack = stack[:len(stack)-1]
		}
	})
	return bad
}

// TestDeriveSharedNameReads: schemas whose #Derive reads the host's name
// other than as a value (sorts it with other values, measures it, puts
// it in a longer string) give each host of a group alike its own result:
// the sharing sees it and derives them alone.
func TestDeriveSharedNameReads(t *testing.T) {
	hosts := `
hosts: mon: {server: true, exporters: node: 9100}
hosts: alpha1: {serverHost: "mon", exporters: node: 9100}
hosts: nova1: {serverHost: "mon", exporters: node: 9100}
hosts: zulu1: {serverHost: "mon", exporters: node: 9100}
`
	for _, read := range []string{
		`order: list.SortStrings([D.name, "m"])`,
		`size: len(D.name)`,
		`motd: "host \(D.name)"`,
	} {
		t.Run(read, func(t *testing.T) {
			src := strings.Replace(deriveSchema, "\t#nixos: {\n", "\t#nixos: {\n\t\t"+read+"\n", 1)
			if strings.Contains(read, "list.") {
				src = strings.Replace(src, "package schema\n", "package schema\n\nimport \"list\"\n", 1)
			}
			schemaFS := &fstest.MapFS{"schema.cue": {Data: []byte(src)}}
			run := func(share bool) map[string]string {
				defer func(s bool) { shareDerive = s }(shareDerive)
				shareDerive = share
				f, msgs := deriveFleetWith(t, schemaFS, hosts)
				if f == nil {
					t.Fatal(msgs)
				}
				out := map[string]string{}
				for _, h := range f.Hosts {
					out[h.Name] = string(h.Derived)
				}
				return out
			}
			want := run(false)
			before := derivedShared.Load()
			if diff := cmp.Diff(want, run(true)); diff != "" {
				t.Errorf("derived shared (-alone +shared):\n%s", diff)
			}
			if n := derivedShared.Load() - before; n != 0 {
				t.Errorf("%d hosts shared a derivation that reads their names", n)
			}
		})
	}
}

// fromInput reports whether e, compared with the host's name in #Derive
// aliased d, is of the derivation's input: a field of d, or a variable of
// a comprehension (of the nodes in stack) over such fields. A constant
// of the schema is not: a comparison of the name with it could be true
// for the name and false for the placeholder.
func fromInput(e ast.Expr, d string, stack []ast.Node) bool {
	for {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			break
		}
		e = sel.X
	}
	id, ok := e.(*ast.Ident)
	if !ok {
		return false
	}
	if id.Name == d {
		return true
	}
	for _, n := range stack {
		c, ok := n.(*ast.Comprehension)
		if !ok {
			continue
		}
		for _, cl := range c.Clauses {
			f, ok := cl.(*ast.ForClause)
			if !ok {
				continue
			}
			for _, v := range []*ast.Ident{f.Key, f.Value} {
				if v != nil && v.Name == id.Name && fromInput(f.Source, d, stack) {
					return true
				}
			}
		}
	}
	return false
}

// BenchmarkFleetPass measures the fleet pass over a fleet shaped like the
// benchmarks' (FLEET_BENCH_HOSTS hosts, 1000 by default), whole (no
// sharing) and shared, with no cache: #FleetFacts alone, and the pass.
// One op is one pass over the fleet.
func BenchmarkFleetPass(b *testing.B) {
	n := 1000
	if s := os.Getenv("FLEET_BENCH_HOSTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	cfg, ref := referenceFacts(b)
	hosts := benchFacts(b, ref, n)
	all, _ := json.Marshal(map[string]any{"hosts": factsMap(hosts)})
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("facts/shared=%v", shared), func(b *testing.B) {
			defer func(f bool) { shareFacts = f }(shareFacts)
			shareFacts = shared
			for i := 0; i < b.N; i++ {
				ws := newWorkers(min(runtime.NumCPU(), 8), cfg)
				if _, d := fleetFactsOf(context.Background(), ws, hosts, all); d != nil {
					b.Fatal(d)
				}
			}
		})
		b.Run(fmt.Sprintf("pass/shared=%v", shared), func(b *testing.B) {
			defer func(f, d bool) { shareFacts, shareDerive = f, d }(shareFacts, shareDerive)
			shareFacts, shareDerive = shared, shared
			for i := 0; i < b.N; i++ {
				if d := derive(context.Background(), cfg, nil, hosts); d != nil {
					b.Fatal(d)
				}
			}
		})
	}
}

// TestFleetPassNoNameTests holds #FleetFacts and #Derive to what the
// placeholders assume of the strings of a host's input: a string of the
// facts may be the host's name, replaced by a placeholder, so neither
// definition may compare a string with a constant, match it with a
// pattern or take it apart (strings, regexp): that could be true of the
// name and false of both placeholders.
func TestFleetPassNoNameTests(t *testing.T) {
	isConst := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.BasicLit:
			return x.Kind == token.STRING
		case *ast.Interpolation:
			return true
		}
		return false
	}
	defs := schemaDefs(t)
	for _, l := range []string{string(FleetFactsDef), string(DeriveDef)} {
		field := defs[l]
		if field == nil {
			t.Errorf("no %s in the schema", l)
			continue
		}
		ast.Walk(field.Value, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				switch x.Op.String() {
				case "==", "!=", "<", "<=", ">", ">=", "=~", "!~":
					if isConst(x.X) || isConst(x.Y) {
						t.Errorf("%s: %s compares a string with a constant", x.Pos(), l)
					}
				}
			case *ast.UnaryExpr:
				switch x.Op.String() {
				case "==", "!=", "<", "<=", ">", ">=", "=~", "!~":
					t.Errorf("%s: %s constrains a string by a pattern or a bound", x.Pos(), l)
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && (id.Name == "strings" || id.Name == "regexp") {
					t.Errorf("%s: %s takes a string apart (%s)", x.Pos(), l, id.Name)
				}
			}
			return true
		}, nil)
	}
}
