package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"cuelang.org/go/cue/ast"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/lint/rules"
	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// checkHosts runs the checks of each host's own values (checkValues,
// checkInputs, checkPorts) on every host of the fleet. A host that an
// earlier load found clean, from the same inputs, is not checked again:
// the same load.Host.Key (its entries, the program, the schema) with,
// for checkValues, every secret it refers to still declared, and for
// the others, the same settings (the flake's inputs). When the hosts
// checked find a problem, every host is checked together, so that the
// problems are exactly those of checking the whole fleet (a layer several
// hosts share reported once).
func (f *Fleet) checkHosts() diag.List {
	all := func() diag.List {
		f.checked = len(f.hosts)
		return append(append(f.checkValues(f.hosts, nil), f.checkInputs(f.hosts)...), f.checkPorts(f.hosts)...)
	}
	c := f.l.Cache()
	if c == nil {
		return all()
	}
	defer c.Batch()()
	settings := f.settingsKey()
	// A host's entry holds the secrets its values refer to, and the hash
	// of the settings its inputs and ports were checked with.
	type todo struct {
		h              *Host
		key            string
		refs           []byte
		values, others bool
	}
	var work []todo
	for _, h := range f.hosts {
		w := todo{h: h, values: true, others: true}
		if h.h.Key != nil {
			w.key = c.Key(checkCacheKind, h.h.Key)
			if parts, ok := c.Get(w.key); ok && len(parts) == 2 {
				w.refs = parts[0]
				w.values = !f.declared(parts[0])
				w.others = !bytes.Equal(parts[1], settings)
			}
		}
		if w.values || w.others {
			work = append(work, w)
		}
	}
	f.checked = 0
	// Each host's values alone, so that clean means clean whatever the
	// other hosts are: a layer shared with another host is checked for
	// each. The other checks report each host's problems whatever the
	// others are.
	var others []*Host
	for i, w := range work {
		if w.values {
			f.checked++
			refs := map[string]bool{}
			if len(f.checkValues([]*Host{w.h}, refs)) > 0 {
				return all()
			}
			work[i].refs = []byte(strings.Join(sortedNames(refs), "\x00"))
		}
		if w.others {
			others = append(others, w.h)
		}
	}
	if len(others) > 0 && len(f.checkInputs(others))+len(f.checkPorts(others)) > 0 {
		return all()
	}
	for _, w := range work {
		if w.key != "" {
			c.Put(w.key, [][]byte{w.refs, settings})
		}
	}
	return nil
}

// checkCacheKind is the kind of the cache's entries of hosts checkHosts
// found clean.
const checkCacheKind = "checkhost"

// declared reports whether the fleet declares every secret of refs, names
// separated by NUL.
func (f *Fleet) declared(refs []byte) bool {
	if len(refs) == 0 {
		return true
	}
	for _, s := range strings.Split(string(refs), "\x00") {
		if _, ok := f.l.Secrets[s]; !ok {
			return false
		}
	}
	return true
}

// settingsKey returns the hash of the fleet's settings.
func (f *Fleet) settingsKey() []byte {
	hs, h := newHash()
	hashBytes(h, f.l.Settings)
	return sum(hs, h)
}

// checkValues checks what the schema cannot, in every value of the
// hosts, free-form nixos included, wherever it sits (in a list, under
// {$force: ...}): every raw Nix expression ({$nix: ...}) parses, every
// secret reference ({$secret: ...}) names a declared secret, no secret is
// a literal string (rules.LiteralSecrets, which lint's FV01 uses too), and
// no string or field name holds a NUL character, which Nix would cut the
// string at. Problems are reported where the user wrote the value, once
// per place even when several hosts share the layer: by the first host,
// in the order of hosts, whose tree reaches the place. The names of the
// secrets the values refer to are added to refs, when not nil.
//
// Each host is checked alone (checkHost), by the load while its tree is
// there (see Load) or here for a host the load took from the cache;
// only when a problem is found are the trees of the hosts before it
// merged again, to find which host reaches its place first.
func (f *Fleet) checkValues(hosts []*Host, refs map[string]bool) diag.List {
	checks := make([]*hostCheck, len(hosts))
	first := map[diag.Range]string{} // a problem's place → the first host there
	for i, h := range hosts {
		checks[i] = f.hostCheck(h)
		for _, c := range checks[i].diags {
			if len(hosts) > 1 && c.gate.Start.IsValid() {
				first[c.gate] = ""
			}
		}
		if refs != nil {
			for _, s := range checks[i].refs {
				refs[s] = true
			}
		}
	}
	if len(first) > 0 {
		left := len(first)
		for _, h := range hosts {
			tree := h.t
			if tree == nil {
				tree = h.lf.Tree(h.h) // not kept: a large fleet's trees are most of its memory
			}
			tree.Walk(nil, func(_ []string, n *merge.Node) {
				if name, ok := first[n.Leaf().Range]; ok && name == "" {
					first[n.Leaf().Range] = h.Name
					left--
				}
			})
			if left == 0 {
				break
			}
		}
	}
	var diags diag.List
	once := map[string]bool{}
	for i, h := range hosts {
		for _, c := range checks[i].diags {
			if len(hosts) > 1 && c.gate.Start.IsValid() && first[c.gate] != h.Name {
				continue
			}
			if c.once != "" {
				if once[c.once] {
					continue
				}
				once[c.once] = true
			}
			diags = append(diags, c.d)
		}
	}
	diags.Sort()
	return diags
}

// A hostCheck is what checking one host's values alone found
// (checkHost): the problems, in the order found, and the secrets the
// values refer to.
type hostCheck struct {
	diags []checked
	refs  []string
}

// A checked problem is one of a hostCheck's: found at the leaf whose
// place is gate, when valid, it is reported only by the first host that
// reaches the place; once, when set, names a problem reported once
// however many leaves find it.
type checked struct {
	d    diag.Diagnostic
	gate diag.Range
	once string
}

// clean is the hostCheck of a host with no problem and no secret.
var clean = &hostCheck{}

// hostCheck returns h's hostCheck: the load's, or, for a host the load
// took from the cache, its tree's, merged again.
func (f *Fleet) hostCheck(h *Host) *hostCheck {
	if c, ok := h.h.Checked.(*hostCheck); ok {
		return c
	}
	tree := h.t
	if tree == nil {
		tree = h.lf.Tree(h.h)
	}
	c := checkHost(h.Name, tree, sortedNames(f.l.Secrets), nil)
	h.h.Checked = c
	return c
}

// checkHost checks the values of host, merged as tree, alone (see
// checkValues); secrets are the names of the declared secrets, sorted.
// A leaf memo knows clean is not checked again. It is safe for
// concurrent use: the load calls it for every host it unifies.
func checkHost(host string, tree *merge.Node, secrets []string, memo *leafMemo) *hostCheck {
	c := &hostCheck{}
	seen := map[diag.Range]bool{}
	seenFiles := map[string]bool{}
	refsFound := 0 // secret references, including those already in c.refs
	var buf []byte // a leaf's path, for memo
	checkLeaf := func(path []string, n *merge.Node) {
		o := n.Leaf()
		for _, d := range fileNameDiags(host, tree, path, o, seenFiles) {
			c.diags = append(c.diags, checked{d: d})
		}
		// The rest is the leaf's own: reported by the first host that
		// reaches its place (see checkValues), the problems named once
		// reported by the first such.
		add := func(d diag.Diagnostic, once string) {
			c.diags = append(c.diags, checked{d: d, gate: o.Range, once: once})
		}
		var deep map[string]bool // the depth bound's values reported
		if o.Range.Start.IsValid() {
			if seen[o.Range] {
				return
			}
			seen[o.Range] = true
		}
		at := func(p []string) (diag.Range, []string, string) {
			full := append([]string{"hosts", host}, p...)
			return o.Range, full, formatPath(full)
		}
		if i := slices.IndexFunc(path, func(k string) bool { return strings.ContainsRune(k, 0) }); i >= 0 {
			r, full, name := at(path[:i+1])
			add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full,
				Summary: name + ": a field name holds a NUL character", Detail: "Nix cuts a string at NUL; remove it"}, "")
			return
		}
		if n := len(path); n > 1 && markers[path[n-1]] {
			// A marker beside other fields of the tree: the
			// struct is no marker, and each field would be data.
			if parent := tree.Lookup(path[:n-1]...); parent != nil && len(parent.Fields()) > 1 {
				r, full, name := at(path[:n-1])
				if d := parent.Decl(); d != nil && d.Range.Start.IsValid() {
					r = d.Range
				}
				add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full,
					Summary: name + ": " + markerBeside(path[n-1]),
					Detail:  markerDetail}, name)
			}
		}
		if i := slices.IndexFunc(path, hasBidi); i >= 0 {
			r, full, name := at(path[:i+1])
			if n := tree.Lookup(path[:i+1]...); n != nil && n.Decl() != nil && n.Decl().Range.Start.IsValid() {
				r = n.Decl().Range // the field's own label
			}
			add(bidiDiag(r, full, name, path[i]), "")
		}
		// Names and paths are made only for a report: made for every
		// value, they would cost the square of the depth.
		base := ""
		walkData(path, o.Value, func(p []string, v any) {
			r := o.Range
			name := func() string {
				if base == "" {
					base = formatPath(append([]string{"hosts", host}, path...))
				}
				return dataName(base, o.Value, p[len(path):])
			}
			full := func() []string { return append([]string{"hosts", host}, p...) }
			if len(p) > maxValueDepth {
				// Reported once for each value at the bound, at the
				// first value found below it.
				if key := strings.Join(p[:maxValueDepth], "\x00"); !deep[key] {
					if deep == nil {
						deep = map[string]bool{}
					}
					deep[key] = true
					add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full(),
						Summary: fmt.Sprintf("%s: the value is nested more than %d levels deep (fields and list elements), more than the generated Nix can hold", clipName(name()), maxValueDepth),
						Detail:  "Nix 2.8's parser holds at most 10000 entries, and each level of the generated Nix can take three; flatten the value, or keep deep data in a file the configuration reads"}, key)
				}
			}
			switch v := v.(type) {
			case *big.Int:
				if v.IsInt64() {
					break // -9223372036854775808, which CUE hands over as big
				}
				add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full(),
					Summary: fmt.Sprintf("%s: the integer %s does not fit in Nix's 64-bit integers", name(), clip(v.String(), 40)),
					Detail:  "Nix integers run from -9223372036854775808 to 9223372036854775807; write a string if the program reads one"}, "")
			case string:
				if strings.ContainsRune(v, 0) || strings.ContainsRune(p[len(p)-1], 0) {
					add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full(),
						Summary: name() + ": a string or field name holds a NUL character", Detail: "Nix cuts a string at NUL; remove it"}, "")
				}
				if hasBidi(v) {
					add(bidiDiag(r, full(), name(), v), "")
				} else if len(p) > len(path) && hasBidi(p[len(p)-1]) {
					add(bidiDiag(r, full(), name(), p[len(p)-1]), "")
				}
			case map[string]any:
				if why := markerProblem(v); why != "" {
					detail := markerDetail
					if len(v) == 1 {
						detail = markerForms
					}
					add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full(),
						Summary: name() + ": " + why,
						Detail:  detail}, "")
					return
				}
				if src, ok := v["$nix"].(string); ok && len(v) == 1 {
					if d := checkNix(r, name(), src); d != nil {
						add(*d, "")
					}
				}
				if sname, ok := v["$secret"].(string); ok && len(v) == 1 {
					refsFound++
					if !slices.Contains(c.refs, sname) {
						c.refs = append(c.refs, sname)
					}
					if _, ok := slices.BinarySearch(secrets, sname); !ok {
						d := diag.Diagnostic{
							Severity: diag.Error,
							Range:    r,
							Path:     full(),
							Summary:  fmt.Sprintf("%s: secret %q is not declared", name(), sname),
							Detail:   "declare it under secrets, with its owner, group and mode",
						}
						if s := diag.Nearest(sname, secrets); s != "" {
							d.Detail = fmt.Sprintf("did you mean %q? Otherwise declare it under secrets.", s)
						}
						add(d, "")
					}
				}
			}
		})
		rules.LiteralSecrets(path, o.Value, func(p []string) {
			p = trimMarkers(p)
			r, full, _ := at(p)
			name := dataName(formatPath(append([]string{"hosts", host}, path...)), o.Value, p[len(path):])
			add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    r,
				Path:     full,
				Summary:  name + ": a literal secret, which would be copied into the world-readable Nix store",
				Detail:   "a secret is never a literal; declare it under secrets and name it: {$secret: \"name\"} (with the option's ...File variant)",
			}, "")
		})
	}
	tree.Walk(nil, func(path []string, n *merge.Node) {
		o := n.Leaf()
		key, joined, ok := memo.key(buf, path, o)
		buf = joined
		if ok && memo.clean(buf, key) {
			if o.Range.Start.IsValid() {
				seen[o.Range] = true
			}
			return
		}
		fresh := !o.Range.Start.IsValid() || !seen[o.Range]
		diags, refs := len(c.diags), refsFound
		checkLeaf(path, n)
		if ok && fresh && len(c.diags) == diags && refsFound == refs {
			memo.add(buf, key)
		}
	})
	if len(c.diags) == 0 && len(c.refs) == 0 {
		return clean
	}
	sort.Strings(c.refs)
	return c
}

// A leafMemo remembers the leaves of the shared layers (templates,
// hardware profiles, users, profiles) that checkHost found clean, for the
// other hosts that have them: a fleet's hosts share most of their leaves,
// which the checks would otherwise walk once per host. Whether a leaf is
// clean depends only on its path, its place and its value (the host's
// name and tree serve only to word and place a problem), except for a
// marker beside other fields, which depends on the tree: such leaves are
// not remembered. The place only says where a problem is reported: the
// scalar leaves of a host's own layer (as many as the hosts, but alike in
// hosts alike) are remembered by path and value alone, a bounded number
// of them. A nil leafMemo remembers nothing. It is safe for concurrent
// use.
type leafMemo struct {
	mu sync.Mutex
	// ok holds the clean leaves by path (joined with NUL), each path's
	// by place and value.
	ok map[string][]leafKey
	// own holds the clean scalar leaves of hosts' own layers by path and
	// value, whatever their place: hosts alike (clones of one entry)
	// have the same; owns counts them.
	own  map[string]map[any]bool
	owns int
}

// maxOwnLeaves bounds the own leaves a leafMemo keeps: past it, they are
// forgotten, so that a fleet of distinct hosts does not keep them all.
const maxOwnLeaves = 1 << 16

// A leafKey names a leaf at a path: its place, and its value (a map or
// a list by identity: the shared layers' trees live for the whole load).
type leafKey struct {
	r   diag.Range
	v   any
	n   int
	own bool
}

// key returns the key of the leaf o at path, its path joined into buf,
// and whether it may be remembered.
//
// A leaf of a host's own layer is known by its path and value alone, when
// the value is a scalar but a big integer (whether such a leaf is clean
// does not depend on its place): its key has no place and own set.
func (m *leafMemo) key(buf []byte, path []string, o *merge.Origin) (leafKey, []byte, bool) {
	if m == nil || len(path) > 0 && markers[path[len(path)-1]] {
		return leafKey{}, buf, false
	}
	k := leafKey{r: o.Range}
	if o.Source.Layer == merge.Host {
		switch o.Value.(type) {
		case nil, string, bool, int64, float64:
			k = leafKey{v: o.Value, own: true}
		default:
			return leafKey{}, buf, false
		}
	}
	switch v := o.Value.(type) {
	case map[string]any:
		k.v, k.n = reflect.ValueOf(v).UnsafePointer(), len(v)
	case []any:
		k.v, k.n = unsafe.Pointer(unsafe.SliceData(v)), len(v)
	case nil, string, bool, int64, float64, *big.Int:
		k.v = v
	default:
		return leafKey{}, buf, false
	}
	buf = buf[:0]
	for i, p := range path {
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = append(buf, p...)
	}
	return k, buf, true
}

// clean reports whether the leaf k at path (joined) was found clean.
func (m *leafMemo) clean(path []byte, k leafKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k.own {
		return m.own[string(path)][k.v]
	}
	return slices.Contains(m.ok[string(path)], k)
}

// add records that the leaf k at path (joined) is clean.
func (m *leafMemo) add(path []byte, k leafKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k.own {
		if m.own == nil || m.owns >= maxOwnLeaves {
			m.own, m.owns = map[string]map[any]bool{}, 0
		}
		vs := m.own[string(path)]
		if vs == nil {
			vs = map[any]bool{}
			m.own[string(path)] = vs
		}
		if !vs[k.v] {
			v := k.v
			if s, ok := v.(string); ok {
				// Kept alone: a host's value may share its memory
				// with more of the host's.
				v = strings.Clone(s)
			}
			vs[v] = true
			m.owns++
		}
		return
	}
	if m.ok == nil {
		m.ok = map[string][]leafKey{}
	}
	if !slices.Contains(m.ok[string(path)], k) {
		m.ok[string(path)] = append(m.ok[string(path)], k)
	}
}

// maxValueDepth bounds how deeply a host's value nests, counting its
// fields and list elements from the host: deeper values are refused by
// vet and gen alike, before the emitter makes Nix that Nix 2.8 (and the
// emitter's own round-trip check, which counts as Nix does) cannot parse.
// A level of the generated Nix takes at most three entries of Nix's
// parser stack of 10000 (a list of sets fails at about 3,300 levels), so
// the bound leaves room for what surrounds the value.
const maxValueDepth = 1000

// clipName shortens a long path for a message: its start and end.
func clipName(name string) string {
	if len(name) <= 120 {
		return name
	}
	return name[:60] + "…" + name[len(name)-60:]
}

// markers are the marker fields emit reads: a struct whose only field is
// one of them is written as what the marker says.
var markers = map[string]bool{"$nix": true, "$secret": true, "$pkg": true, "$inputPkg": true, "$force": true, "$default": true}

// markerDetail and markerForms explain what markers are, for a problem
// with a marker's siblings and with its own field.
const (
	markerDetail = "a marker ({$nix: …}, {$secret: …}, {$pkg: …}, {$inputPkg: …}, {$force: …}, {$default: …}) is the only field of its struct"
	markerForms  = `the markers are {$nix: "<Nix expression>"}, {$secret: "<declared secret>"}, {$pkg: "<package attribute path>"}, {$inputPkg: {input: "<flake input>", attr: "<attribute path>"}}, {$force: <value>} and {$default: <value>}`
)

// markerProblem says what is wrong with the struct m as a marker, or "":
// a single field that looks like a marker but is none, or a marker whose
// value the emitter refuses (emit.MarkerProblem; gen would refuse either
// without saying where), or a marker among other fields, which would be
// written as data (a field named "$secret") and not as what it says.
func markerProblem(m map[string]any) string {
	if len(m) == 1 {
		for k := range m {
			if !strings.HasPrefix(k, "$") {
				return ""
			}
			if markers[k] {
				return emit.MarkerProblem(m)
			}
			if near := diag.Nearest(k, sortedNames(markers)); near != "" {
				return fmt.Sprintf("unknown marker %s (did you mean %s?)", formatPath([]string{k}), near)
			}
			return fmt.Sprintf("unknown marker %s", formatPath([]string{k}))
		}
		return ""
	}
	for _, k := range sortedNames(m) {
		if markers[k] {
			return markerBeside(k)
		}
	}
	return ""
}

// markerBeside says that the marker k has other fields beside it.
func markerBeside(k string) string {
	return fmt.Sprintf("the marker %s has other fields beside it, so it would be written as data, not as what it says", k)
}

// hasBidi reports whether s holds a character that changes the direction
// of the text around it (U+202E and its kin; syntax.BidiControl).
func hasBidi(s string) bool { return strings.IndexFunc(s, syntax.BidiControl) >= 0 }

// bidiDiag reports a bidirectional control character in a value or field
// name. Such a character makes a line display in another order than it
// is read (as Rust refuses it in literals), and a Nix string has no escape
// for it, so the generated file would hold it raw.
func bidiDiag(r diag.Range, full []string, name, s string) diag.Diagnostic {
	c := s[strings.IndexFunc(s, syntax.BidiControl):]
	return diag.Diagnostic{Severity: diag.Error, Range: r, Path: full,
		Summary: fmt.Sprintf("%s: holds the bidirectional control character %U, which makes the text display in another order than it reads", name, []rune(c)[0]),
		Detail:  "Nix strings have no escape for it, so the generated Nix would hold it as it is; remove it (text in a right-to-left script needs none)"}
}

// fileNameDiags checks the names of the files a host's free-form nixos
// links into a directory (environment.etc, home-manager's home.file and
// xdg.configFile; rules.FileEntry), and their targets, in the leaf o at
// path and in the fields leading to it: a name that is empty, absolute or
// climbs out with .. is never linked where it says (rules.FileNameProblem,
// which lint's NO607 uses too). A name is reported at its own field, once
// (seen holds the names reported).
func fileNameDiags(host string, tree *merge.Node, path []string, o *merge.Origin, seen map[string]bool) diag.List {
	if len(path) == 0 || path[0] != "nixos" {
		return nil
	}
	var out diag.List
	report := func(p []string, r diag.Range, what, value, why, dir string) {
		full := append([]string{"hosts", host, "nixos"}, p...)
		key := fmt.Sprint(r, formatPath(full))
		if seen[key] {
			return
		}
		seen[key] = true
		out.Add(diag.Diagnostic{Severity: diag.Error, Range: r, Path: full,
			Summary: fmt.Sprintf("%s: %s %q %s", formatPath(full), what, value, why),
			Detail:  fmt.Sprintf("the file belongs below %s: write its name as a path relative to it, such as \"app/config.toml\"", dir)})
	}
	walkData(path, o.Value, func(p []string, v any) {
		if len(p) > 10 {
			return // deeper than any file entry (and its target, and markers)
		}
		// The option path, without nixos and the markers ($force) inside
		// a leaf's value; no marker precedes the leaf's own path.
		q := slices.DeleteFunc(slices.Clone(p[1:]), func(k string) bool { return k == "$force" || k == "$default" })
		for i := range q {
			dir, ok := rules.FileEntry(q[:i+1])
			if !ok {
				continue
			}
			r := o.Range
			if i+1 < len(path) { // a field of the tree, not inside the leaf
				if n := tree.Lookup(path[:i+2]...); n != nil && n.Decl() != nil && n.Decl().Range.Start.IsValid() {
					r = n.Decl().Range
				}
			}
			if why := rules.FileNameProblem(q[i]); why != "" {
				report(q[:i+1], r, "file name", q[i], why, dir)
			}
		}
		if s, ok := v.(string); ok && len(q) > 1 && q[len(q)-1] == "target" {
			if dir, ok := rules.FileEntry(q[:len(q)-1]); ok {
				if why := rules.FileNameProblem(s); why != "" {
					report(q, o.Range, "target", s, why, dir)
				}
			}
		}
	})
	return out
}

// walkData calls f for every value inside v, at path p and below: each
// struct, list element and scalar, parents before their contents. The
// path f is given is valid only during the call (one slice serves the
// whole walk, so that a walk costs what the value holds and not the square
// of its depth): f copies what it keeps.
func walkData(p []string, v any, f func(p []string, v any)) {
	walkDataIn(append(make([]string, 0, len(p)+16), p...), v, f)
}

func walkDataIn(p []string, v any, f func(p []string, v any)) {
	f(p, v)
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedNames(x) {
			walkDataIn(append(p, k), x[k], f)
		}
	case []any:
		for i, e := range x {
			walkDataIn(append(p, strconv.Itoa(i)), e, f)
		}
	}
}

// dataName returns the path rel inside v, a value named name, as users
// read it: list elements as [i].
func dataName(name string, v any, rel []string) string {
	for _, k := range rel {
		switch x := v.(type) {
		case []any:
			name += "[" + k + "]"
			if i, err := strconv.Atoi(k); err == nil && i < len(x) {
				v = x[i]
			}
		case map[string]any:
			name += "." + formatPath([]string{k})
			v = x[k]
		}
	}
	return name
}

// trimMarkers drops the marker keys that end a path ($force, $nix), so a
// finding names the field the user set.
func trimMarkers(p []string) []string {
	for len(p) > 0 && strings.HasPrefix(p[len(p)-1], "$") {
		p = p[:len(p)-1]
	}
	return p
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
func (f *Fleet) checkInputs(hosts []*Host) diag.List {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return diag.List{{Severity: diag.Error, Summary: fmt.Sprintf("reading settings: %v", err)}}
	}
	var diags diag.List
	for _, h := range hosts {
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
