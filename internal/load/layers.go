package load

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// layers holds every entry of the fleet, by kind and name, decoded: a
// layer's tree with its provenance, and what the merge reads of it
// besides (the layers a host or template names, fixed paths). Entries are
// read from CUE once (see readEntry), or from the cache, so merging needs
// no CUE value.
type layers struct {
	hosts, templates, hardware, profiles, users, secrets map[string]*entry
	settings                                             *entry

	// mu guards reported and diags: hosts are merged in parallel.
	mu sync.Mutex
	// reported are the entries whose decoding problems are in diags:
	// problems are reported once, however many hosts use the layer, and
	// only when a host does.
	reported map[*entry]bool
	diags    diag.List
	// docs index the syntax of the files, when the package was evaluated
	// whole; nil otherwise.
	docs *docIndex
	// decls says where each entry is declared, by "kind.name".
	decls map[string]diag.Range
	// broken are the entries, by "kind.name" ("templates.server",
	// "settings"), whose values the package reported in error. Hosts
	// using them, or a layer whose decoding failed, are left out: their
	// errors are reported already.
	broken map[string]bool
	// merged lists the hosts merged, in the order they were, for tests
	// (see Fleet.Merged).
	merged []string
}

// brokenValues reports whether the fleet's settings or a secret are in
// error.
func (l *layers) brokenValues() bool {
	for k := range l.broken {
		if k == string(SettingsPath) || strings.HasPrefix(k, string(SecretsPath)+".") {
			return true
		}
	}
	return false
}

// An entry is one named value of a fleet package (hosts.web,
// templates.server, settings), decoded.
type entry struct {
	// decl is where it is declared; doc its doc comment's lines.
	decl diag.Range
	doc  []string
	// start is where its value starts (its label), for problems with its
	// name; it is not kept in the cache.
	start diag.Range
	// tree is the layer it gives a host: a host's, template's (without
	// its description and fixed paths), hardware profile's or user's
	// value, a profile's home; nil for a profile without home, and for
	// secrets and settings. diags are the problems decoding it.
	tree  *merge.Tree
	diags diag.List
	// fixed are the paths a template or profile marks as fixed, not yet
	// below where the profile goes.
	fixed []FixedPath
	// refs are what a host or template names: its template, hardware
	// profile and users.
	refs refs
	// data is a secret's or the settings' value as Go data, or the
	// problems reading it.
	data      any
	dataDiags diag.List
	// inputs are where the settings declare each flake input.
	inputs map[string]diag.Range
	// value is the entry's CUE value, for placing errors found later;
	// it does not exist for an entry read from the cache.
	value cue.Value
	// prov is the hash of the entry's declarations and where they are,
	// when the package was read entry by entry (see provenance); nil
	// otherwise.
	prov []byte
	// enc is a host's tree, encoded, once the tree itself is released.
	enc []byte
}

// refs are the layers a host or template names.
type refs struct {
	template, hardwareProfile ref
	users                     []userRef
}

// A ref is a string field naming another layer, and where it is written.
type ref struct {
	name string
	at   diag.Range
	set  bool
}

// A userRef is a user a host or template puts on the host, with the
// profiles composed for them there (set when it lists them).
type userRef struct {
	name        string
	declared    diag.Range
	profiles    []ref
	hasProfiles bool
}

// kinds lists the collections of a fleet package, with where the layers
// keep each.
func (l *layers) kinds() []struct {
	path Path
	into map[string]*entry
} {
	return []struct {
		path Path
		into map[string]*entry
	}{
		{HostsPath, l.hosts}, {TemplatesPath, l.templates}, {HardwarePath, l.hardware},
		{ProfilesPath, l.profiles}, {UsersPath, l.users}, {SecretsPath, l.secrets},
	}
}

func newLayers() *layers {
	return &layers{
		hosts: map[string]*entry{}, templates: map[string]*entry{},
		hardware: map[string]*entry{}, profiles: map[string]*entry{}, users: map[string]*entry{},
		secrets: map[string]*entry{}, decls: map[string]diag.Range{}, reported: map[*entry]bool{},
		broken: map[string]bool{},
	}
}

// collect gathers and decodes the entries of every fleet instance. With
// "./...", CUE puts the files of ancestor directories into every instance
// below them, so the same host can appear in several instances: it is
// taken once, and two different definitions of one name are an error.
// Entries are decoded on several goroutines: CUE values may be read
// concurrently, and decoding is most of the cost of a merge. invalid says
// the packages had errors: the entries in error are then recorded as
// broken.
func collect(ctx context.Context, fleets []cue.Value, files []*ast.File, invalid bool) (*layers, diag.List) {
	l := newLayers()
	docs := newDocIndex(files)
	l.docs = docs
	var diags diag.List
	type todo struct {
		kind Path
		name string
		v    cue.Value
		into map[string]*entry
	}
	var work []todo
	seen := map[Path]map[string]cue.Value{}
	for _, v := range fleets {
		if s := v.LookupPath(cue.ParsePath(string(SettingsPath))); s.Exists() && invalid && s.Validate() != nil {
			l.broken[string(SettingsPath)] = true
		}
		for _, kind := range l.kinds() {
			s := v.LookupPath(cue.ParsePath(string(kind.path)))
			if !s.Exists() {
				continue
			}
			it, err := s.Fields()
			if err != nil {
				diags = append(diags, cueDiags(err, nil)...)
				continue
			}
			if seen[kind.path] == nil {
				seen[kind.path] = map[string]cue.Value{}
			}
			for it.Next() {
				name := it.Selector().Unquoted()
				nv := it.Value()
				if old, ok := seen[kind.path][name]; ok {
					if old.Pos() != nv.Pos() {
						diags.Add(diag.Diagnostic{
							Severity: diag.Error,
							Range:    merge.Range(nv.Pos()),
							Summary:  fmt.Sprintf("%s.%s is defined in two fleet packages", kind.path, name),
							Related:  []diag.Related{{Range: merge.Range(old.Pos()), Message: "also defined here"}},
						})
					}
					continue
				}
				seen[kind.path][name] = nv
				work = append(work, todo{kind.path, name, nv, kind.into})
				if invalid && nv.Validate() != nil {
					l.broken[string(kind.path)+"."+name] = true
				}
			}
		}
	}
	var settings cue.Value
	for _, fv := range fleets {
		if s := fv.LookupPath(cue.ParsePath(string(SettingsPath))); s.Exists() {
			settings = s
			break
		}
	}
	entries := make([]*entry, len(work))
	if err := parallel(ctx, min(runtime.NumCPU(), 8, max(len(work), 1)), len(work), func(_, i int) {
		entries[i] = readEntry(docs, work[i].kind, work[i].name, work[i].v)
	}); err != nil {
		diags.Errorf(diag.Range{}, "%v", err)
		return l, diags
	}
	for i, w := range work {
		w.into[w.name] = entries[i]
	}
	if settings.Exists() {
		l.settings = readEntry(docs, SettingsPath, "", settings)
	}
	l.declare()
	return l, diags
}

// declare records where each entry but the hosts is declared.
func (l *layers) declare() {
	for _, kind := range l.kinds() {
		if kind.path == HostsPath {
			continue
		}
		for name, e := range kind.into {
			l.decls[FormatPath([]string{string(kind.path), name})] = e.decl
		}
	}
	if e := l.settings; e != nil {
		if e.decl.File != "" && label(e.decl.File) != "schema" {
			l.decls[string(SettingsPath)] = e.decl
		}
		for name, r := range e.inputs {
			l.decls[FormatPath([]string{string(SettingsPath), inputsField, name})] = r
		}
	}
}

// readEntry decodes the entry kind.name, whose value is v; docs index the
// syntax of the files v comes from.
func readEntry(docs *docIndex, kind Path, name string, v cue.Value) *entry {
	// Where the entry is declared, from the syntax when it is declared
	// once: userPos would ask CUE for the conjuncts of the whole entry,
	// whose own position is the schema's pattern constraint, under
	// exprMu (most of the cost of the positions of a large fleet).
	e := &entry{decl: merge.Range(docs.declPos(v))}
	if conjunctPositions {
		e.decl = merge.Range(userPos(v))
	}
	e.start = e.decl
	hooks := merge.Hooks{
		Pos:        userPos,
		Documented: func(v cue.Value) bool { return len(docLines(v)) > 0 },
		Syntax:     docs.syntax,
	}
	decode := func(src merge.Source, v cue.Value, drop ...string) {
		e.tree, e.diags = merge.Decode(src, v, hooks)
		e.tree.Drop(drop...)
	}
	switch kind {
	case HostsPath:
		e.doc = docs.lines(v)
		e.refs = readRefs(docs, v)
		decode(merge.Source{Layer: merge.Host, Name: name}, v)
		// Kept encoded until the host is merged, as the cache keeps it:
		// the decoded trees of a large fleet's hosts, all read before
		// any is merged, would be most of the load's memory.
		if b, err := e.tree.MarshalBinary(); err == nil {
			e.enc, e.tree = b, nil
		}
	case TemplatesPath:
		e.refs = readRefs(docs, v)
		src := merge.Source{Layer: merge.Template, Name: name}
		// A template's description and fixed paths are its own, not the
		// host's.
		decode(src, v, "description", fixedField)
		e.fixed = fixedPaths(v, src)
	case HardwarePath:
		decode(merge.Source{Layer: merge.Hardware, Name: name}, v)
	case UsersPath:
		decode(merge.Source{Layer: merge.User, Name: name}, v)
		// The user as declared, for the recipients of secrets.
		if data, err := merge.Data(v); err == nil {
			e.data = data
		}
	case ProfilesPath:
		src := merge.Source{Layer: merge.Profile, Name: name}
		if home := v.LookupPath(cue.MakePath(cue.Str(homeField))); home.Exists() {
			decode(src, home)
		}
		e.fixed = fixedPaths(v, src)
	case SecretsPath, SettingsPath:
		data, err := merge.Data(v)
		if err != nil {
			e.dataDiags = cueDiags(err, &v)
		}
		e.data = data
		e.value = v
		if kind == SettingsPath {
			e.inputs = inputDecls(v)
		}
	}
	return e
}

// readRefs reads the layers a host or template v names.
func readRefs(docs *docIndex, v cue.Value) refs {
	var r refs
	r.template.name, r.template.at, r.template.set = stringField(v, templateField)
	r.hardwareProfile.name, r.hardwareProfile.at, r.hardwareProfile.set = stringField(v, hardwareProfileField)
	us := v.LookupPath(cue.MakePath(cue.Str(usersField)))
	if !us.Exists() {
		return r
	}
	it, err := us.Fields()
	if err != nil {
		return r
	}
	for it.Next() {
		u := userRef{name: it.Selector().Unquoted(), declared: merge.Range(docs.declPos(it.Value()))}
		if ps := it.Value().LookupPath(cue.MakePath(cue.Str(profilesField))); ps.Exists() {
			u.hasProfiles = true
			list, _ := ps.List()
			for list.Next() {
				p, _ := list.Value().String()
				u.profiles = append(u.profiles, ref{name: p, at: merge.Range(list.Value().Pos()), set: true})
			}
		}
		r.users = append(r.users, u)
	}
	return r
}

// inputDecls returns where the settings s declare each flake input.
func inputDecls(s cue.Value) map[string]diag.Range {
	out := map[string]diag.Range{}
	it, err := s.LookupPath(cue.MakePath(cue.Str(inputsField))).Fields()
	if err != nil {
		return out
	}
	for it.Next() {
		if p := userPos(it.Value()); p.IsValid() && label(p.Filename()) != "schema" {
			out[it.Selector().Unquoted()] = merge.Range(p)
		}
	}
	return out
}

// use returns the tree of e, reporting its decoding problems the first
// time a host uses it.
func (l *layers) use(e *entry) *merge.Tree {
	l.mu.Lock()
	if !l.reported[e] {
		l.reported[e] = true
		l.diags = append(l.diags, e.diags...)
	}
	t, enc := e.tree, e.enc
	l.mu.Unlock()
	if t == nil && enc != nil {
		t, _ = merge.UnmarshalTree(enc)
	}
	return t
}

// Merged returns the names of the hosts merged since the load started,
// in the order they were, lazily merged ones (Tree) included: for tests
// that check what an edit merges again.
func (f *Fleet) Merged() []string {
	if f.layers == nil {
		return nil
	}
	f.layers.mu.Lock()
	defer f.layers.mu.Unlock()
	return append([]string(nil), f.layers.merged...)
}

// release drops the decoded trees of the hosts, keeping them encoded:
// a host's own layer is most of its tree, and the fleet's other layers
// are few and shared.
func (l *layers) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.hosts {
		if e.tree == nil {
			continue
		}
		if b, err := e.tree.MarshalBinary(); err == nil {
			e.enc, e.tree = b, nil
		}
	}
}

// encodeHost keeps the tree of host name's own entry encoded, as release
// does, once the host is merged: no other host uses it, and the decoded
// trees of a fleet's hosts are most of its entries' memory.
func (l *layers) encodeHost(name string) {
	l.mu.Lock()
	e := l.hosts[name]
	t := e.tree
	l.mu.Unlock()
	if t == nil {
		return
	}
	b, err := t.MarshalBinary()
	if err != nil {
		return
	}
	l.mu.Lock()
	if e.tree == t {
		e.enc, e.tree = b, nil
	}
	l.mu.Unlock()
}

func (l *layers) hostNames() []string {
	return keys(l.hosts)
}

// mergeHost merges the layers of one host:
//
//	hardware profile < template < user accounts < profiles < host
//
// Schema defaults come last, at unification.
func (l *layers) mergeHost(name string) (*Host, diag.List) {
	l.mu.Lock()
	l.merged = append(l.merged, name)
	l.mu.Unlock()
	he := l.hosts[name]
	h := &Host{Name: name, Decl: he.decl, Doc: he.doc}
	var diags diag.List

	// The template.
	var te *entry
	if r := he.refs.template; r.set {
		h.Template = r.name
		if te = l.templates[r.name]; te == nil {
			diags.Add(unknownRef(r.at, "template", r.name, keys(l.templates), FormatPath([]string{"hosts", name, templateField})))
		}
	}
	// The hardware profile: the host's choice, else the template's.
	var hwe *entry
	r := he.refs.hardwareProfile
	if !r.set && te != nil {
		r = te.refs.hardwareProfile
	}
	if r.set {
		h.HardwareProfile = r.name
		if hwe = l.hardware[r.name]; hwe == nil {
			diags.Add(unknownRef(r.at, "hardware profile", r.name, keys(l.hardware), FormatPath([]string{"hosts", name, hardwareProfileField})))
		}
	}

	// Users: those the template and the host put on the host.
	type hostUser struct {
		name     string
		profiles []string
		declared diag.Range
	}
	var users []*hostUser
	byName := map[string]*hostUser{}
	for _, layer := range []*entry{te, he} {
		if layer == nil {
			continue
		}
		for _, ur := range layer.refs.users {
			u := byName[ur.name]
			if u == nil {
				u = &hostUser{name: ur.name, declared: ur.declared}
				byName[ur.name] = u
				users = append(users, u)
			}
			if ur.hasProfiles {
				u.profiles = u.profiles[:0]
				for _, p := range ur.profiles {
					u.profiles = append(u.profiles, p.name)
					if l.profiles[p.name] == nil {
						diags.Add(unknownRef(p.at, "profile", p.name, keys(l.profiles),
							FormatPath([]string{"hosts", name, usersField, ur.name, profilesField})))
					}
				}
			}
		}
	}
	for _, u := range users {
		if l.users[u.name] == nil {
			diags.Add(unknownRef(u.declared, "user", u.name, keys(l.users), FormatPath([]string{"hosts", name, usersField, u.name})))
		}
		h.Users = append(h.Users, HostUser{Name: u.name, Profiles: u.profiles})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	// A host whose own value or one of whose layers is in error has its
	// errors reported already; what it would add now is noise.
	uses := []string{"hosts." + name, "templates." + h.Template, "hardware." + h.HardwareProfile}
	for _, u := range users {
		uses = append(uses, "users."+u.name)
		for _, p := range u.profiles {
			uses = append(uses, "profiles."+p)
		}
	}
	for _, k := range uses {
		if l.broken[k] {
			return nil, nil
		}
	}

	prov := provenance{ok: true}
	var m merge.Merger
	if hwe != nil {
		m.AddTree(l.use(hwe), hardwareField)
		prov.add(hwe)
		h.deps = append(h.deps, entryID{HardwarePath, h.HardwareProfile})
	}
	if te != nil {
		m.AddTree(l.use(te))
		h.Fixed = append(h.Fixed, te.fixed...)
		prov.add(te)
		h.deps = append(h.deps, entryID{TemplatesPath, h.Template})
	}
	for _, u := range users {
		m.AddTree(l.use(l.users[u.name]), usersField, u.name)
		prov.add(l.users[u.name])
		h.deps = append(h.deps, entryID{UsersPath, u.name})
		for _, p := range u.profiles {
			pe := l.profiles[p]
			prov.add(pe)
			h.deps = append(h.deps, entryID{ProfilesPath, p})
			if t := l.use(pe); t != nil {
				m.AddTree(t, usersField, u.name, homeField)
			}
			for _, fp := range pe.fixed {
				fp.Path = append([]string{usersField, u.name, homeField}, fp.Path...)
				h.Fixed = append(h.Fixed, fp)
			}
		}
	}
	ht := l.use(he)
	if ht == nil && he.enc != nil {
		// The host's layer was kept in the cache and no longer reads
		// back.
		diags.Errorf(he.decl, "hosts.%s: the evaluation cache's copy of the host is unreadable; run again with FLEETCACHE=off", name)
		return nil, diags
	}
	m.AddTree(ht)
	prov.add(he)
	h.deps = append(h.deps, entryID{HostsPath, name})
	h.Provenance = prov.sum(name, h.Users)
	m.Root.Set(merge.Source{Layer: merge.Host, Name: name}, h.Decl, name, nameField)
	diags = append(diags, m.Finish()...)
	if diags.HasErrors() {
		return nil, diags
	}
	// A layer that failed to decode left out what it says; its errors
	// are reported once, for every host that uses it.
	used := []*entry{hwe, te}
	for _, u := range users {
		used = append(used, l.users[u.name])
		for _, p := range u.profiles {
			used = append(used, l.profiles[p])
		}
	}
	for _, e := range used {
		if e != nil && e.diags.HasErrors() {
			return nil, diags
		}
	}
	// The tree is copied out of the Merger.
	root := m.Root
	h.Tree = &root
	if tags := h.Tree.Field(tagsField); tags != nil {
		for _, t := range tags.Fields() {
			if b, ok := tags.Field(t).Leaf().Value.(bool); ok && b {
				h.Tags = append(h.Tags, t)
			}
		}
		sort.Strings(h.Tags)
	}
	return h, diags
}

// A provenance hashes the entries a host is merged from, in order, each
// with where it is declared: two hosts with the same have the same tree,
// provenance included. It is not ok when an entry has no hash (the
// package was evaluated whole).
type provenance struct {
	ok bool
	b  []byte
}

func (p *provenance) add(e *entry) {
	if e.prov == nil {
		p.ok = false
	}
	p.b = append(p.b, e.prov...)
}

// sum returns the host's provenance hash, nil when not ok.
func (p *provenance) sum(name string, users []HostUser) []byte {
	if !p.ok {
		return nil
	}
	h := sha256.New()
	writeString(h, name)
	for _, u := range users {
		writeString(h, u.Name)
		for _, pr := range u.Profiles {
			writeString(h, pr)
		}
	}
	writeBytes(h, p.b)
	return h.Sum(nil)
}

// fixedField is where a template or a profile lists the paths hosts must
// not override.
const fixedField = "fixed"

// A FixedPath is a path of a host's value that a layer marks as fixed.
type FixedPath struct {
	// Path is the path in the host's value.
	Path []string
	// Source is the template or profile that fixes it.
	Source merge.Source
	// Range is where it is marked fixed.
	Range diag.Range
}

// fixedPaths returns the paths the template or profile v marks as fixed
// (fixed.<dotted path>: true), below prefix in the host's value, in
// source order.
func fixedPaths(v cue.Value, src merge.Source, prefix ...string) []FixedPath {
	it, err := v.LookupPath(cue.MakePath(cue.Str(fixedField))).Fields()
	if err != nil {
		return nil
	}
	var out []FixedPath
	for it.Next() {
		if b, err := it.Value().Bool(); err != nil || !b {
			continue
		}
		p := append(append([]string(nil), prefix...), strings.Split(it.Selector().Unquoted(), ".")...)
		out = append(out, FixedPath{Path: p, Source: src, Range: merge.Range(userPos(it.Value()))})
	}
	return out
}

// stringField returns the concrete string field name of v and its position.
func stringField(v cue.Value, name string) (string, diag.Range, bool) {
	f := v.LookupPath(cue.MakePath(cue.Str(name)))
	if !f.Exists() {
		return "", diag.Range{}, false
	}
	s, err := f.String()
	if err != nil {
		return "", diag.Range{}, false
	}
	return s, merge.Range(f.Pos()), true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkRecipients reports the recipients of secrets that name no user or
// host of the fleet: agenix would encrypt the secret to nobody by that
// name, silently. A secret read from the cache has no CUE value: its
// problems are found by name, without a position, and the package is then
// read whole (see loadFleet).
func (l *layers) checkRecipients() diag.List {
	var diags diag.List
	for _, name := range keys(l.secrets) {
		if l.broken[string(SecretsPath)+"."+name] {
			continue
		}
		e := l.secrets[name]
		for _, kind := range []struct {
			field, what string
			known       map[string]*entry
		}{{"users", "user", l.users}, {"hosts", "host", l.hosts}} {
			report := func(r string, at diag.Range) {
				path := FormatPath([]string{string(SecretsPath), name, "recipients", kind.field, r})
				d := unknownRef(at, kind.what, r, keys(kind.known), path)
				d.Detail += fmt.Sprintf("\nagenix would encrypt %q to no %s by that name", name, kind.what)
				diags.Add(d)
			}
			if !e.value.Exists() {
				data, _ := e.data.(map[string]any)
				rs, _ := data["recipients"].(map[string]any)
				named, _ := rs[kind.field].(map[string]any)
				for _, r := range keys(named) {
					if kind.known[r] == nil {
						report(r, diag.Range{})
					}
				}
				continue
			}
			it, err := e.value.LookupPath(cue.MakePath(cue.Str("recipients"), cue.Str(kind.field))).Fields()
			if err != nil {
				continue
			}
			for it.Next() {
				r := it.Selector().Unquoted()
				if kind.known[r] != nil {
					continue
				}
				at := merge.Range(userPos(it.Value()))
				if l.docs != nil {
					at = merge.Range(l.docs.declPos(it.Value()))
				}
				report(r, at)
			}
		}
	}
	return diags
}

// unknownRef reports a reference to a layer that does not exist, with the
// nearest existing name as a suggestion.
func unknownRef(r diag.Range, kind, name string, known []string, path string) diag.Diagnostic {
	d := diag.Diagnostic{
		Severity: diag.Error,
		Range:    r,
		Summary:  fmt.Sprintf("%s: unknown %s %q", path, kind, name),
	}
	if s := diag.Nearest(name, known); s != "" {
		d.Detail = fmt.Sprintf("did you mean %q?", s)
	} else if len(known) > 0 {
		d.Detail = fmt.Sprintf("known: %s", strings.Join(known, ", "))
	} else {
		d.Detail = fmt.Sprintf("the fleet defines no %s", kind)
	}
	return d
}

// docLines returns the doc comment of v's declarations in the user's
// files, as lines of text.
func docLines(v cue.Value) []string {
	var out []string
	for _, g := range v.Doc() {
		if p := g.Pos(); p.IsValid() && label(p.Filename()) == "schema" {
			continue
		}
		text := strings.TrimRight(g.Text(), "\n")
		if text != "" {
			out = append(out, strings.Split(text, "\n")...)
		}
	}
	return out
}
