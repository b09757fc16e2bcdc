package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"runtime"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
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
		if bytes.Contains(b, []byte("@tag(")) || len(nulDiags([]*ast.File{f})) > 0 {
			// A tag injects values the index cannot see; a string that
			// spells NUL is an error the package evaluated whole
			// reports.
			sf.idx = &fileIndex{}
		}
		s.c.put(key, &indexEntry{sf.idx})
	}
	s.record(sf)
	return f, err
}

// release drops the files' text and syntax once their entries are read:
// the syntax of a large file is many times its size (386 MB for the
// 28 MB file of 10,000 hosts), and the loader's instance, which keeps s
// reachable, lives as long as the load.
func (s *sources) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		f.full, f.src = nil, nil
	}
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
	Neutral  bool `json:",omitempty"`
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
	Label  [2]int
}

func (x *fileIndex) record() indexRecord {
	r := indexRecord{OK: x.ok, Neutral: x.neutral}
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
		er := entryIndexRecord{Kind: e.kind, Name: e.name, Region: regionRecord{sp(e.span), e.uses}, Line: e.line, Label: sp(e.label)}
		for _, w := range e.wrap {
			er.Wrap = append(er.Wrap, sp(w))
		}
		r.Entries = append(r.Entries, er)
	}
	return r
}

func (r indexRecord) index() *fileIndex {
	x := &fileIndex{ok: r.OK, neutral: r.Neutral}
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
		fe := fileEntry{kind: e.Kind, name: e.Name, region: region{sp(e.Region.Span), e.Region.Uses}, line: e.Line, label: sp(e.Label)}
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
	// package's name, the tags, the module's file, and the contexts of
	// its files (where they are) with those files' imports.
	context []byte
	// neutral says that no context of the package nor the schema can
	// tell entries of a kind apart by their names (see entryalike.go).
	neutral bool
}

// divide divides the single fleet instance inst into entries; false when
// some file cannot be.
func (s *sources) divide(inst *build.Instance, tags []string) (*packageEntries, bool) {
	p := &packageEntries{entries: map[entryID][]contribution{}, neutral: schemaNeutral(inst)}
	h := sha256.New()
	writeString(h, inst.PkgName)
	for _, t := range tags {
		writeString(h, t)
	}
	// The module's file: its language version is how the files parse
	// and evaluate.
	mod, err := json.Marshal(inst.ModuleFile)
	if err != nil {
		return nil, false
	}
	writeBytes(h, mod)
	for i, f := range inst.Files {
		sf := s.files[f.Filename]
		if sf == nil || sf.idx == nil || !sf.idx.ok {
			return nil, false
		}
		p.files = append(p.files, sf)
		x := sf.idx
		p.neutral = p.neutral && x.neutral
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
	if c == nil {
		return string(h.Sum(nil))
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

// sortIDs sorts ids by kind, then name.
func sortIDs(ids []entryID) {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].kind != ids[j].kind {
			return ids[i].kind < ids[j].kind
		}
		return ids[i].name < ids[j].name
	})
}

// ids returns the package's entries, sorted.
func (p *packageEntries) ids() []entryID {
	out := make([]entryID, 0, len(p.entries))
	for id := range p.entries {
		out = append(out, id)
	}
	sortIDs(out)
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
			if e, ok := decodeEntry(r, p.at(id), id.kind == HostsPath); ok {
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

// batchSize is how many entries are evaluated in one copy of the
// package: CUE's memory is the evaluated package's, so batches bound it.
// As many batches as cores are in flight at once: 128 entries a batch on
// two cores hold what 256 did one at a time (1000 hosts: 275-320 MiB
// peak either way, 385-430 with 256).
var batchSize = 128

// evaluate evaluates the entries want of p and decodes them: in a copy of
// the package inst with every other entry left out (the whole package
// when nothing is), in batches of batchSize entries, each in a CUE
// context of its own, dropped once its entries are decoded. It reports
// false when the package has errors: the caller then evaluates it whole,
// which reports them where they are.
func (p *packageEntries) evaluate(goctx context.Context, inst *build.Instance, want []entryID) (map[entryID]*entry, bool) {
	m := map[entryID]*entry{}
	if len(want) <= batchSize {
		// Few entries (those alike evaluated once, see entryalike.go):
		// copies made of the files' nodes when the load parsed them, else
		// of their text blanked (28 MB cloned and parsed again for the
		// hosts of 10,000).
		copies := p.blanked
		if p.parsed() {
			copies = p.filtered
		}
		return m, p.evaluateBatch(goctx, cuecontext.New(), inst, want, copies, m)
	}
	// Many entries: their files' syntax is needed whole anyway, and each
	// batch's copy is made of its nodes rather than parsed again.
	for _, sf := range p.files {
		if sf.full == nil {
			f, err := parser.ParseFile(sf.name, sf.src, parserConfig(inst))
			if err != nil {
				return nil, false
			}
			sf.full = f
		}
	}
	// The batches are evaluated side by side, each in a context of its
	// own: CUE evaluates a batch on one core, and nothing else runs in
	// the load meanwhile.
	n := (len(want) + batchSize - 1) / batchSize
	ms := make([]map[entryID]*entry, n)
	ok := make([]bool, n)
	if parallel(goctx, min(runtime.NumCPU(), 8, n), n, func(_, i int) {
		batch := want[i*batchSize : min((i+1)*batchSize, len(want))]
		ms[i] = map[entryID]*entry{}
		ok[i] = p.evaluateBatch(goctx, cuecontext.New(), inst, batch, p.filtered, ms[i])
	}) != nil {
		return nil, false
	}
	for i := range ms {
		if !ok[i] {
			return nil, false
		}
		maps.Copy(m, ms[i])
	}
	return m, true
}

// parsed reports whether every file of p was parsed whole.
func (p *packageEntries) parsed() bool {
	for _, sf := range p.files {
		if sf.full == nil {
			return false
		}
	}
	return true
}

// parserConfig is how CUE's loader parses the files of inst.
func parserConfig(inst *build.Instance) parser.Config {
	cfg := parser.NewConfig(parser.ParseComments)
	if inst.ModuleFile != nil && inst.ModuleFile.Language != nil {
		cfg = cfg.Apply(parser.Version(inst.ModuleFile.Language.Version))
	}
	return cfg
}

// evaluateBatch evaluates the entries want in ctx, in the copy of the
// package that copies makes of each file, and adds them to m.
func (p *packageEntries) evaluateBatch(goctx context.Context, ctx *cue.Context, inst *build.Instance, want []entryID,
	copies func(sf *srcFile, wanted map[entryID]bool, cfg parser.Config) (*ast.File, bool), m map[entryID]*entry) bool {
	evaluatedCount.Add(int64(len(want)))
	wanted := map[entryID]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	cfg := parserConfig(inst)
	files := make([]*ast.File, len(p.files))
	for i, sf := range p.files {
		f, ok := copies(sf, wanted, cfg)
		if !ok {
			return false
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
		return false
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
			return false
		}
	}
	out := make([]*entry, len(want))
	if parallel(goctx, min(runtime.NumCPU(), 8, max(len(want), 1)), len(want), func(_, i int) {
		out[i] = readEntry(docs, want[i].kind, want[i].name, values[i])
	}) != nil {
		return false
	}
	for i, id := range want {
		m[id] = out[i]
	}
	return true
}

// keeps returns what a copy of sf keeps when it holds the entries wanted:
// whether it holds all of sf's, and the names of the imports it uses.
func keeps(sf *srcFile, wanted map[entryID]bool) (all bool, uses map[string]bool) {
	all, uses = true, map[string]bool{}
	for _, c := range sf.idx.contexts {
		for _, u := range c.uses {
			uses[u] = true
		}
	}
	for _, e := range sf.idx.entries {
		if !wanted[entryID{e.kind, e.name}] {
			all = false
			continue
		}
		for _, u := range e.uses {
			uses[u] = true
		}
	}
	return all, uses
}

// blanked is a copy of sf with every entry but those wanted blanked out,
// parsed: what it keeps stays where it is.
func (p *packageEntries) blanked(sf *srcFile, wanted map[entryID]bool, cfg parser.Config) (*ast.File, bool) {
	x := sf.idx
	all, uses := keeps(sf, wanted)
	if all && sf.full != nil {
		return sf.full, true
	}
	keep := append([]span(nil), x.header...)
	for _, c := range x.contexts {
		keep = append(keep, c.span)
	}
	for _, e := range x.entries {
		if wanted[entryID{e.kind, e.name}] {
			keep = append(keep, e.span)
			keep = append(keep, e.wrap...)
		}
	}
	for _, im := range x.imports {
		if all || uses[im.name] {
			keep = append(keep, im.span)
		}
	}
	f, err := parser.ParseFile(sf.name, blank(sf.src, keep), cfg)
	return f, err == nil
}

// filtered is a copy of sf's whole syntax with the declarations of every
// entry but those wanted left out: its nodes are sf's, so it keeps every
// position. Files are not parsed again for each batch.
func (p *packageEntries) filtered(sf *srcFile, wanted map[entryID]bool, _ parser.Config) (*ast.File, bool) {
	all, uses := keeps(sf, wanted)
	if all {
		return sf.full, true
	}
	out := &ast.File{Filename: sf.full.Filename}
	for _, d := range sf.full.Decls {
		switch d := d.(type) {
		case *ast.CommentGroup:
		case *ast.ImportDecl:
			var specs []*ast.ImportSpec
			for _, s := range d.Specs {
				if uses[importName(s)] {
					specs = append(specs, s)
				}
			}
			if len(specs) > 0 {
				out.Decls = append(out.Decls, &ast.ImportDecl{Import: d.Import, Lparen: d.Lparen, Specs: specs, Rparen: d.Rparen})
			}
		case *ast.Field:
			name, ident, _ := ast.LabelName(d.Label)
			kind, isKind := kindNames[name]
			switch {
			case ident && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#")):
				out.Decls = append(out.Decls, d)
			case name == string(SettingsPath):
				if wanted[entryID{kind: SettingsPath}] {
					out.Decls = append(out.Decls, d)
				}
			case isKind:
				s := d.Value.(*ast.StructLit)
				var elts []ast.Decl
				for _, e := range s.Elts {
					if f, ok := e.(*ast.Field); ok {
						if en, _, _ := ast.LabelName(f.Label); wanted[entryID{kind, en}] {
							elts = append(elts, f)
						}
					}
				}
				if len(elts) == 0 {
					continue
				}
				if !s.Lbrace.IsValid() {
					out.Decls = append(out.Decls, d)
					continue
				}
				out.Decls = append(out.Decls, &ast.Field{Label: d.Label, Constraint: d.Constraint, TokenPos: d.TokenPos,
					Value: &ast.StructLit{Lbrace: s.Lbrace, Elts: elts, Rbrace: s.Rbrace}})
			default:
				return nil, false
			}
		default:
			out.Decls = append(out.Decls, d)
		}
	}
	return out, true
}

// entryLayers reads the entries of the single fleet instance inst: from
// the cache where they did not change, else evaluated in ctx (and kept).
// It returns nil when the package cannot be read entry by entry, or has
// errors; the caller evaluates it whole then.
func entryLayers(goctx context.Context, c *cache, inst *build.Instance, srcs *sources, tags []string) (*layers, *packageEntries) {
	p, ok := srcs.divide(inst, tags)
	if !ok {
		return nil, nil
	}
	found, missing := p.cachedEntries(c)
	if len(missing) > 0 {
		got, ok := p.evaluateAlike(goctx, inst, missing)
		if !ok {
			return nil, p
		}
		p.keep(c, got)
		for id, e := range got {
			found[id] = e
		}
	}
	return layersOf(p, found), p
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

// provenance sets each entry's prov: the hash of its declarations and
// where they are.
func (p *packageEntries) provenance(entries map[entryID]*entry) {
	for id, e := range entries {
		h := sha256.New()
		writeString(h, p.key(nil, id))
		b, _ := json.Marshal(p.at(id))
		writeBytes(h, b)
		e.prov = h.Sum(nil)
	}
}

// layersOf returns the layers of the entries of p.
func layersOf(p *packageEntries, entries map[entryID]*entry) *layers {
	l := newLayers()
	into := map[Path]map[string]*entry{}
	for _, k := range l.kinds() {
		into[k.path] = k.into
	}
	p.provenance(entries)
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
