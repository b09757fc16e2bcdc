package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"runtime"
	"sort"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/parser"
)

// sources records the files CUE's loader parses for a load: their bytes
// and how each divides into entries. When headers is set and the cache
// knows a file's division, the loader gets only the file's header
// (package clause and imports): what it needs to find the package's
// imports, at a fraction of the cost of parsing the file.
type sources struct {
	c       *cache
	headers bool

	mu    sync.Mutex
	files map[string]*srcFile
}

// A srcFile is one file of a fleet package as the load read it.
type srcFile struct {
	name string
	src  []byte
	// idx is how it divides into entries; full its whole syntax, when
	// parsed.
	idx  *fileIndex
	full *ast.File
}

// parse is the loader's ParseFile.
func (s *sources) parse(name string, src any, cfg parser.Config) (*ast.File, error) {
	b, ok := src.([]byte)
	if !ok || cfg.Mode&(parser.ImportsOnly|parser.PackageClauseOnly) != 0 || label(name) == "schema" {
		return parser.ParseFile(name, src, cfg)
	}
	key := s.c.key("file", []byte(name), b)
	var idx *fileIndex
	if s.headers && key != "" {
		var r indexEntry
		if s.c.get(key, &r) && r.idx.ok {
			idx = r.idx
		}
	}
	if idx != nil {
		s.record(&srcFile{name: name, src: b, idx: idx})
		return parser.ParseFile(name, b, cfg.Apply(parser.ImportsOnly))
	}
	f, err := parser.ParseFile(name, b, cfg)
	sf := &srcFile{name: name, src: b, full: f}
	if err == nil {
		sf.idx = indexFile(f, b)
		if bytes.Contains(b, []byte("@tag(")) {
			// A tag injects values the index cannot see.
			sf.idx = &fileIndex{}
		}
		s.c.put(key, &indexEntry{sf.idx})
	}
	s.record(sf)
	return f, err
}

func (s *sources) record(f *srcFile) {
	s.mu.Lock()
	s.files[f.name] = f
	s.mu.Unlock()
}

// headerOnly reports whether some file was given to the loader as its
// header alone.
func (s *sources) headerOnly() bool {
	for _, f := range s.files {
		if f.full == nil {
			return true
		}
	}
	return false
}

// An indexEntry is a file's division as the cache keeps it.
type indexEntry struct{ idx *fileIndex }

func (e indexEntry) parts() [][]byte {
	b, err := json.Marshal(e.idx.record())
	if err != nil {
		return nil
	}
	return [][]byte{b}
}

func (e *indexEntry) setParts(p [][]byte) bool {
	var r indexRecord
	if len(p) != 1 || json.Unmarshal(p[0], &r) != nil {
		return false
	}
	e.idx = r.index()
	return true
}

// An indexRecord is a fileIndex as JSON keeps it.
type indexRecord struct {
	OK       bool
	Header   [][2]int
	Imports  []importRecord
	Contexts []regionRecord
	Entries  []entryIndexRecord
}

type importRecord struct {
	Span [2]int
	Name string
}

type regionRecord struct {
	Span [2]int
	Uses []string `json:",omitempty"`
}

type entryIndexRecord struct {
	Kind   Path
	Name   string
	Region regionRecord
	Wrap   [][2]int `json:",omitempty"`
	Line   int
}

func (x *fileIndex) record() indexRecord {
	r := indexRecord{OK: x.ok}
	sp := func(s span) [2]int { return [2]int{s.start, s.end} }
	for _, h := range x.header {
		r.Header = append(r.Header, sp(h))
	}
	for _, im := range x.imports {
		r.Imports = append(r.Imports, importRecord{sp(im.span), im.name})
	}
	for _, c := range x.contexts {
		r.Contexts = append(r.Contexts, regionRecord{sp(c.span), c.uses})
	}
	for _, e := range x.entries {
		er := entryIndexRecord{Kind: e.kind, Name: e.name, Region: regionRecord{sp(e.span), e.uses}, Line: e.line}
		for _, w := range e.wrap {
			er.Wrap = append(er.Wrap, sp(w))
		}
		r.Entries = append(r.Entries, er)
	}
	return r
}

func (r indexRecord) index() *fileIndex {
	x := &fileIndex{ok: r.OK}
	sp := func(s [2]int) span { return span{s[0], s[1]} }
	for _, h := range r.Header {
		x.header = append(x.header, sp(h))
	}
	for _, im := range r.Imports {
		x.imports = append(x.imports, importSpan{sp(im.Span), im.Name})
	}
	for _, c := range r.Contexts {
		x.contexts = append(x.contexts, region{sp(c.Span), c.Uses})
	}
	for _, e := range r.Entries {
		fe := fileEntry{kind: e.Kind, name: e.Name, region: region{sp(e.Region.Span), e.Region.Uses}, line: e.Line}
		for _, w := range e.Wrap {
			fe.wrap = append(fe.wrap, sp(w))
		}
		x.entries = append(x.entries, fe)
	}
	return x
}

// An entryID names an entry: its kind and name (none for settings).
type entryID struct {
	kind Path
	name string
}

// A contribution is one declaration of an entry: its file (an index into
// the instance's files) and its place there.
type contribution struct {
	file  int
	entry fileEntry
}

// A packageEntries is a fleet package divided into entries.
type packageEntries struct {
	files   []*srcFile
	entries map[entryID][]contribution
	// context is the hash of what every entry is evaluated with: the
	// package's name, the tags, and the contexts of its files (where
	// they are) with those files' imports.
	context []byte
}

// divide divides the single fleet instance inst into entries; false when
// some file cannot be.
func (s *sources) divide(inst *build.Instance, tags []string) (*packageEntries, bool) {
	p := &packageEntries{entries: map[entryID][]contribution{}}
	h := sha256.New()
	writeString(h, inst.PkgName)
	for _, t := range tags {
		writeString(h, t)
	}
	for i, f := range inst.Files {
		sf := s.files[f.Filename]
		if sf == nil || sf.idx == nil || !sf.idx.ok {
			return nil, false
		}
		p.files = append(p.files, sf)
		x := sf.idx
		if len(x.contexts) > 0 {
			// A file's contexts are the package's: every entry is
			// evaluated with them, and their imports.
			writeString(h, sf.name)
			for _, im := range x.imports {
				writeSpan(h, sf.src, im.span)
			}
			for _, c := range x.contexts {
				writeSpan(h, sf.src, c.span)
			}
		}
		for _, e := range x.entries {
			id := entryID{e.kind, e.name}
			p.entries[id] = append(p.entries[id], contribution{i, e})
		}
	}
	p.context = h.Sum(nil)
	return p, true
}

// writeSpan writes a span's place and bytes.
func writeSpan(w interface{ Write([]byte) (int, error) }, src []byte, sp span) {
	writeUint64(w, uint64(sp.start))
	writeBytes(w, src[sp.start:sp.end])
}

// key returns the cache key of entry id: its declarations' bytes (not
// where they are: a kept entry moves with them), what they are wrapped
// in, their files' headers and imports, and the package's context.
func (p *packageEntries) key(c *cache, id entryID) string {
	h := sha256.New()
	h.Write(p.context)
	writeString(h, string(id.kind))
	writeString(h, id.name)
	for _, ct := range p.entries[id] {
		sf := p.files[ct.file]
		writeString(h, sf.name)
		for _, sp := range sf.idx.header {
			writeBytes(h, sf.src[sp.start:sp.end])
		}
		for _, im := range sf.idx.imports {
			writeBytes(h, sf.src[im.start:im.end])
		}
		writeBytes(h, sf.src[ct.entry.start:ct.entry.end])
		for _, w := range ct.entry.wrap {
			writeBytes(h, sf.src[w.start:w.end])
		}
	}
	return c.key("entry", h.Sum(nil))
}

// at returns where the declarations of entry id are.
func (p *packageEntries) at(id entryID) []declAt {
	var out []declAt
	for _, ct := range p.entries[id] {
		out = append(out, declAt{File: p.files[ct.file].name, Offset: ct.entry.start, Line: ct.entry.line, Len: ct.entry.end - ct.entry.start})
	}
	return out
}

// ids returns the package's entries, sorted.
func (p *packageEntries) ids() []entryID {
	out := make([]entryID, 0, len(p.entries))
	for id := range p.entries {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind < out[j].kind
		}
		return out[i].name < out[j].name
	})
	return out
}

// cachedEntries returns the entries of p the cache holds, and the ids of
// those it does not.
func (p *packageEntries) cachedEntries(c *cache) (map[entryID]*entry, []entryID) {
	found := map[entryID]*entry{}
	var missing []entryID
	for _, id := range p.ids() {
		var r rawEntry
		if c.get(p.key(c, id), &r) {
			if e, ok := decodeEntry(r, p.at(id)); ok {
				found[id] = e
				continue
			}
		}
		missing = append(missing, id)
	}
	return found, missing
}

// keep stores the entries of p in the cache.
func (p *packageEntries) keep(c *cache, entries map[entryID]*entry) {
	if c == nil {
		return
	}
	for id, e := range entries {
		if parts, ok := encodeEntry(e, p.at(id)); ok {
			r := rawEntry(parts)
			c.put(p.key(c, id), &r)
		}
	}
}

// evaluate evaluates the entries want of p in ctx: the package inst with
// every other entry blanked out (the whole package when nothing is), and
// decodes them. It reports false when the package has errors: the caller
// then evaluates it whole, which reports them where they are.
func (p *packageEntries) evaluate(goctx context.Context, ctx *cue.Context, inst *build.Instance, want []entryID) (map[entryID]*entry, bool) {
	wanted := map[entryID]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	cfg := parser.NewConfig(parser.ParseComments)
	if inst.ModuleFile != nil && inst.ModuleFile.Language != nil {
		cfg = cfg.Apply(parser.Version(inst.ModuleFile.Language.Version))
	}
	files := make([]*ast.File, len(p.files))
	for i, sf := range p.files {
		x := sf.idx
		all := true
		keep := append([]span(nil), x.header...)
		uses := map[string]bool{}
		for _, c := range x.contexts {
			keep = append(keep, c.span)
			for _, u := range c.uses {
				uses[u] = true
			}
		}
		for _, e := range x.entries {
			if !wanted[entryID{e.kind, e.name}] {
				all = false
				continue
			}
			keep = append(keep, e.span)
			keep = append(keep, e.wrap...)
			for _, u := range e.uses {
				uses[u] = true
			}
		}
		if all && sf.full != nil {
			files[i] = sf.full
			continue
		}
		for _, im := range x.imports {
			if all || uses[im.name] {
				keep = append(keep, im.span)
			}
		}
		f, err := parser.ParseFile(sf.name, blank(sf.src, keep), cfg)
		if err != nil {
			return nil, false
		}
		files[i] = f
	}
	copied := *inst
	copied.Files = files
	// The loader found the imports of files it got as headers unused;
	// the copies use those they keep.
	copied.ResolutionErr = nil
	v := ctx.BuildInstance(&copied)
	if d := validate(v); len(d) > 0 {
		return nil, false
	}
	docs := newDocIndex(files)
	values := make([]cue.Value, len(want))
	for i, id := range want {
		if id.kind == SettingsPath {
			values[i] = v.LookupPath(cue.ParsePath(string(SettingsPath)))
		} else {
			values[i] = v.LookupPath(cue.MakePath(cue.Str(string(id.kind)), cue.Str(id.name)))
		}
		if !values[i].Exists() {
			return nil, false
		}
	}
	out := make([]*entry, len(want))
	if parallel(goctx, min(runtime.NumCPU(), 8, max(len(want), 1)), len(want), func(_, i int) {
		out[i] = readEntry(docs, want[i].kind, want[i].name, values[i])
	}) != nil {
		return nil, false
	}
	m := map[entryID]*entry{}
	for i, id := range want {
		m[id] = out[i]
	}
	return m, true
}

// entryLayers reads the entries of the single fleet instance inst: from
// the cache where they did not change, else evaluated in ctx (and kept).
// It returns nil when the package cannot be read entry by entry, or has
// errors; the caller evaluates it whole then.
func entryLayers(goctx context.Context, ctx *cue.Context, c *cache, inst *build.Instance, srcs *sources, tags []string) (*layers, *packageEntries) {
	p, ok := srcs.divide(inst, tags)
	if !ok {
		return nil, nil
	}
	found, missing := p.cachedEntries(c)
	if len(missing) > 0 {
		got, ok := p.evaluate(goctx, ctx, inst, missing)
		if !ok {
			return nil, p
		}
		p.keep(c, got)
		for id, e := range got {
			found[id] = e
		}
	}
	return layersOf(found), p
}

// entriesOf returns the entries of l by id.
func entriesOf(l *layers) map[entryID]*entry {
	out := map[entryID]*entry{}
	for _, k := range l.kinds() {
		for name, e := range k.into {
			out[entryID{k.path, name}] = e
		}
	}
	if l.settings != nil {
		out[entryID{kind: SettingsPath}] = l.settings
	}
	return out
}

// layersOf returns the layers of the entries.
func layersOf(entries map[entryID]*entry) *layers {
	l := newLayers()
	into := map[Path]map[string]*entry{}
	for _, k := range l.kinds() {
		into[k.path] = k.into
	}
	for id, e := range entries {
		if id.kind == SettingsPath {
			l.settings = e
			continue
		}
		into[id.kind][id.name] = e
	}
	l.declare()
	return l
}
