package load

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// layers holds every named layer value of the fleet, by kind and name,
// and the decoded trees of those shared by several hosts.
type layers struct {
	hosts, templates, hardware, profiles, users, secrets map[string]cue.Value
	// settings are the fleet's settings, as the first fleet package that
	// has them gives them.
	settings cue.Value

	// mu guards decoded, fixed and diags: hosts are merged in parallel.
	mu      sync.Mutex
	decoded map[merge.Source]*merge.Tree
	// fixed are the fixed paths of each template and profile, by source
	// and prefix.
	fixed map[string][]FixedPath
	// docs are the doc comments of the user's files.
	docs  *docIndex
	diags diag.List
	// decls says where each entry is declared, by "kind.name".
	decls map[string]diag.Range
	// broken are the entries, by "kind.name" ("templates.server",
	// "settings"), whose values the package reported in error; failed
	// are the layers whose decoding failed. Hosts using either are left
	// out: their errors are reported already.
	broken map[string]bool
	failed map[merge.Source]bool
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

// tree decodes v as src once, without its top-level fields named in drop,
// and returns the cached tree afterwards.
// Problems are reported once, however many hosts use the layer.
func (l *layers) tree(src merge.Source, v cue.Value, drop ...string) *merge.Tree {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.decoded[src]; ok {
		return t
	}
	t, d := merge.Decode(src, v, l.hooks())
	t.Drop(drop...)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		if l.failed == nil {
			l.failed = map[merge.Source]bool{}
		}
		l.failed[src] = true
	}
	if l.decoded == nil {
		l.decoded = map[merge.Source]*merge.Tree{}
	}
	l.decoded[src] = t
	return t
}

// collect gathers the layers of every fleet instance. With "./...", CUE
// puts the files of ancestor directories into every instance below them,
// so the same host can appear in several instances: it is taken once, and
// two different definitions of one name are an error. invalid says the
// packages had errors: the entries in error are then recorded as broken.
func collect(fleets []cue.Value, files []*ast.File, invalid bool) (*layers, diag.List) {
	l := &layers{
		docs:  newDocIndex(files),
		hosts: map[string]cue.Value{}, templates: map[string]cue.Value{},
		hardware: map[string]cue.Value{}, profiles: map[string]cue.Value{}, users: map[string]cue.Value{},
		secrets: map[string]cue.Value{}, decls: map[string]diag.Range{}, broken: map[string]bool{},
	}
	var diags diag.List
	for _, v := range fleets {
		if s := v.LookupPath(cue.ParsePath(string(SettingsPath))); s.Exists() {
			if !l.settings.Exists() {
				l.settings = s
			}
			if invalid && s.Validate() != nil {
				l.broken[string(SettingsPath)] = true
			}
		}
		for _, kind := range []struct {
			path Path
			into map[string]cue.Value
		}{
			{HostsPath, l.hosts}, {TemplatesPath, l.templates}, {HardwarePath, l.hardware},
			{ProfilesPath, l.profiles}, {UsersPath, l.users}, {SecretsPath, l.secrets},
		} {
			s := v.LookupPath(cue.ParsePath(string(kind.path)))
			if !s.Exists() {
				continue
			}
			it, err := s.Fields()
			if err != nil {
				diags = append(diags, cueDiags(err, nil)...)
				continue
			}
			for it.Next() {
				name := it.Selector().Unquoted()
				nv := it.Value()
				if old, ok := kind.into[name]; ok {
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
				kind.into[name] = nv
				if invalid && nv.Validate() != nil {
					l.broken[string(kind.path)+"."+name] = true
				}
				if kind.path != HostsPath {
					l.decls[FormatPath([]string{string(kind.path), name})] = merge.Range(userPos(nv))
				}
			}
		}
	}
	return l, diags
}

// hooks are what the merge asks the loader while decoding layers.
func (l *layers) hooks() merge.Hooks {
	return merge.Hooks{
		Pos:        userPos,
		Documented: func(v cue.Value) bool { return len(docLines(v)) > 0 },
		Syntax:     l.docs.syntax,
	}
}

func (l *layers) hostNames() []string {
	names := make([]string, 0, len(l.hosts))
	for n := range l.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// mergeHost merges the layers of one host:
//
//	hardware profile < template < user accounts < profiles < host
//
// Schema defaults come last, at unification.
func (l *layers) mergeHost(name string) (*Host, diag.List) {
	hv := l.hosts[name]
	h := &Host{Name: name, Decl: merge.Range(l.docs.declPos(hv)), Doc: l.docs.lines(hv)}
	var diags diag.List

	// The template.
	var tv cue.Value
	if ref, r, ok := stringField(hv, templateField); ok {
		h.Template = ref
		if tv, ok = l.templates[ref]; !ok {
			diags.Add(unknownRef(r, "template", ref, keys(l.templates), FormatPath([]string{"hosts", name, templateField})))
		}
	}
	// The hardware profile: the host's choice, else the template's.
	var hwv cue.Value
	ref, r, ok := stringField(hv, hardwareProfileField)
	if !ok && tv.Exists() {
		ref, r, ok = stringField(tv, hardwareProfileField)
	}
	if ok {
		h.HardwareProfile = ref
		if hwv, ok = l.hardware[ref]; !ok {
			diags.Add(unknownRef(r, "hardware profile", ref, keys(l.hardware), FormatPath([]string{"hosts", name, hardwareProfileField})))
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
	for _, layer := range []cue.Value{tv, hv} {
		if !layer.Exists() {
			continue
		}
		us := layer.LookupPath(cue.MakePath(cue.Str(usersField)))
		if !us.Exists() {
			continue
		}
		it, err := us.Fields()
		if err != nil {
			continue
		}
		for it.Next() {
			un := it.Selector().Unquoted()
			u := byName[un]
			if u == nil {
				u = &hostUser{name: un, declared: merge.Range(l.docs.declPos(it.Value()))}
				byName[un] = u
				users = append(users, u)
			}
			if ps := it.Value().LookupPath(cue.MakePath(cue.Str(profilesField))); ps.Exists() {
				u.profiles = u.profiles[:0]
				list, _ := ps.List()
				for list.Next() {
					p, _ := list.Value().String()
					u.profiles = append(u.profiles, p)
					if _, ok := l.profiles[p]; !ok {
						diags.Add(unknownRef(merge.Range(list.Value().Pos()), "profile", p, keys(l.profiles),
							FormatPath([]string{"hosts", name, usersField, un, profilesField})))
					}
				}
			}
		}
	}
	for _, u := range users {
		if _, ok := l.users[u.name]; !ok {
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

	m := merge.Merger{Hooks: l.hooks()}
	if hwv.Exists() {
		src := merge.Source{Layer: merge.Hardware, Name: h.HardwareProfile}
		m.AddTree(l.tree(src, hwv), hardwareField)
	}
	if tv.Exists() {
		src := merge.Source{Layer: merge.Template, Name: h.Template}
		// A template's description and fixed paths are its own, not the
		// host's.
		m.AddTree(l.tree(src, tv, "description", fixedField))
		h.Fixed = append(h.Fixed, l.fixedPaths(tv, merge.Source{Layer: merge.Template, Name: h.Template})...)
	}
	for _, u := range users {
		src := merge.Source{Layer: merge.User, Name: u.name}
		m.AddTree(l.tree(src, l.users[u.name]), usersField, u.name)
		for _, p := range u.profiles {
			home := l.profiles[p].LookupPath(cue.MakePath(cue.Str(homeField)))
			if home.Exists() {
				src := merge.Source{Layer: merge.Profile, Name: p}
				m.AddTree(l.tree(src, home), usersField, u.name, homeField)
			}
			h.Fixed = append(h.Fixed, l.fixedPaths(l.profiles[p], merge.Source{Layer: merge.Profile, Name: p},
				usersField, u.name, homeField)...)
		}
	}
	m.Add(merge.Source{Layer: merge.Host, Name: name}, hv)
	m.Root.Set(merge.Source{Layer: merge.Host, Name: name}, h.Decl, name, nameField)
	diags = append(diags, m.Finish()...)
	if diags.HasErrors() {
		return nil, diags
	}
	// A layer that failed to decode left out what it says; its errors
	// are reported once, for every host that uses it.
	srcs := []merge.Source{{Layer: merge.Hardware, Name: h.HardwareProfile}, {Layer: merge.Template, Name: h.Template}}
	for _, u := range users {
		srcs = append(srcs, merge.Source{Layer: merge.User, Name: u.name})
		for _, p := range u.profiles {
			srcs = append(srcs, merge.Source{Layer: merge.Profile, Name: p})
		}
	}
	l.mu.Lock()
	for _, s := range srcs {
		if l.failed[s] {
			l.mu.Unlock()
			return nil, diags
		}
	}
	l.mu.Unlock()
	// The tree is copied out of the Merger: a pointer into it would keep
	// the Merger, and through its hooks the syntax of every file, alive
	// for as long as the host.
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
// source order. They are read once per layer and prefix; the caller must
// not modify the result.
func (l *layers) fixedPaths(v cue.Value, src merge.Source, prefix ...string) []FixedPath {
	key := src.String() + "\x00" + strings.Join(prefix, "\x00")
	l.mu.Lock()
	defer l.mu.Unlock()
	if fp, ok := l.fixed[key]; ok {
		return fp
	}
	fp := fixedPaths(v, src, prefix...)
	if l.fixed == nil {
		l.fixed = map[string][]FixedPath{}
	}
	l.fixed[key] = fp
	return fp
}

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
// name, silently.
func (l *layers) checkRecipients() diag.List {
	var diags diag.List
	for _, name := range keys(l.secrets) {
		if l.broken[string(SecretsPath)+"."+name] {
			continue
		}
		for _, kind := range []struct {
			field, what string
			known       map[string]cue.Value
		}{{"users", "user", l.users}, {"hosts", "host", l.hosts}} {
			it, err := l.secrets[name].LookupPath(cue.MakePath(cue.Str("recipients"), cue.Str(kind.field))).Fields()
			if err != nil {
				continue
			}
			for it.Next() {
				r := it.Selector().Unquoted()
				if _, ok := kind.known[r]; ok {
					continue
				}
				path := FormatPath([]string{string(SecretsPath), name, "recipients", kind.field, r})
				d := unknownRef(merge.Range(l.docs.declPos(it.Value())), kind.what, r, keys(kind.known), path)
				d.Detail += fmt.Sprintf("\nagenix would encrypt %q to no %s by that name", name, kind.what)
				diags.Add(d)
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
