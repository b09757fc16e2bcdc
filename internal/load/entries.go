package load

import (
	"bytes"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// A fleet package is mostly a list of entries (hosts.web,
// templates.server, settings), each written in one or a few places and
// reaching nothing outside itself but the schema and the few hidden
// fields and lets of its file. Such an entry can be evaluated without
// the rest of the package: in a copy of the package where everything
// but it, its files' header and their contexts is blanked out (spaces,
// so that every position stays where it is). A load evaluates only the
// entries that changed since the last (see entryKey) and reads the rest
// from the cache; a fleet written in a way the index cannot follow is
// evaluated whole, as before.

// A span is a byte range [start, end) of a file.
type span struct{ start, end int }

// A fileIndex says how one file of a fleet package divides into entries.
type fileIndex struct {
	// ok says that every top-level declaration is understood and that no
	// entry or context reaches outside itself but to the file's
	// contexts, its imports and CUE's predeclared names.
	ok bool
	// header is kept in every copy: the package clause and attributes;
	// imports are kept when a kept region uses them.
	header  []span
	imports []importSpan
	// contexts are the file's hidden fields, definitions, lets and
	// embeddings (schema.#Fleet), kept in every copy.
	contexts []region
	entries  []fileEntry
	// neutral says that no context of the file can tell entries of a
	// kind apart by their names: its only embedding, if any, is the
	// schema's #Fleet (see entryalike.go).
	neutral bool
}

// An importSpan is one import of a file: the bytes to keep for it, and
// its name as the file refers to it.
type importSpan struct {
	span
	name string
}

// A region is a part of a file kept in a copy, and the names of the
// imports it uses.
type region struct {
	span
	uses []string
}

// A fileEntry is one entry's declaration in a file: its region (whole
// lines, doc comment included) and, when it is written inside a struct
// of its kind (`hosts: {web: {...}}`), that struct's opening and closing
// to keep around it.
type fileEntry struct {
	kind Path
	name string
	region
	wrap []span
	line int
	// label is the entry's label token (`web`, `"p620-0005"`).
	label span
}

// kindNames are the collections of a fleet package.
var kindNames = map[string]Path{
	string(HostsPath): HostsPath, string(TemplatesPath): TemplatesPath, string(HardwarePath): HardwarePath,
	string(ProfilesPath): ProfilesPath, string(UsersPath): UsersPath, string(SecretsPath): SecretsPath,
}

// predeclared are CUE's predeclared identifiers: a file referring to
// them reaches nothing outside itself.
var predeclared = map[string]bool{
	"string": true, "bytes": true, "bool": true, "int": true, "float": true, "number": true, "error": true,
	"len": true, "close": true, "matchIf": true, "matchN": true, "and": true, "or": true, "div": true,
	"mod": true, "quo": true, "rem": true, "self": true, "rune": true, "int8": true, "int16": true,
	"int32": true, "int64": true, "int128": true, "uint": true, "uint8": true, "uint16": true,
	"uint32": true, "uint64": true, "uint128": true, "float32": true, "float64": true,
}

// indexFile divides the file f, whose source is src, into entries.
func indexFile(f *ast.File, src []byte) *fileIndex {
	x := &fileIndex{ok: true, neutral: true}
	off := func(p token.Pos) int { return p.Position().Offset }
	fail := func() *fileIndex { return &fileIndex{} }
	lc := lineCounter{src: src, line: 1}
	lineOf := func(n ast.Node) int { return lc.at(lines(src, n, off).start) }
	// pending are the regions to check, by the node written there and
	// the index of the context (entry false) or entry (true).
	type pending struct {
		node  ast.Node
		entry bool
		i     int
	}
	var regions []pending
	addContext := func(n ast.Node, r span) {
		x.contexts = append(x.contexts, region{span: r})
		regions = append(regions, pending{n, false, len(x.contexts) - 1})
	}
	addEntry := func(n ast.Node, e fileEntry) {
		x.entries = append(x.entries, e)
		regions = append(regions, pending{n, true, len(x.entries) - 1})
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package:
			x.header = append(x.header, lines(src, d, off))
		case *ast.Attribute:
			x.header = append(x.header, lines(src, d, off))
		case *ast.CommentGroup:
		case *ast.ImportDecl:
			if d.Lparen.IsValid() {
				x.header = append(x.header, span{off(d.Import), off(d.Lparen) + 1}, span{off(d.Rparen), off(d.Rparen) + 1})
				for _, s := range d.Specs {
					x.imports = append(x.imports, importSpan{lines(src, s, off), importName(s)})
				}
			} else {
				if len(d.Specs) != 1 {
					return fail()
				}
				x.imports = append(x.imports, importSpan{lines(src, d, off), importName(d.Specs[0])})
			}
		case *ast.EmbedDecl:
			if !embedsFleet(d) {
				x.neutral = false
			}
			addContext(d, lines(src, d, off))
		case *ast.LetClause:
			addContext(d, lines(src, d, off))
		case *ast.Field:
			name, ident, err := ast.LabelName(d.Label)
			if err != nil || d.Constraint != token.ILLEGAL || d.Alias != nil {
				return fail()
			}
			if ident && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#")) {
				addContext(d, lines(src, d, off))
				continue
			}
			if name == string(SettingsPath) {
				addEntry(d, fileEntry{kind: SettingsPath, region: region{span: lines(src, d, off)}, line: lineOf(d)})
				continue
			}
			kind, ok := kindNames[name]
			if !ok {
				return fail()
			}
			s, ok := d.Value.(*ast.StructLit)
			if !ok {
				return fail()
			}
			if !s.Lbrace.IsValid() {
				// kind: name: value, one field.
				inner, ok := s.Elts[0].(*ast.Field)
				if len(s.Elts) != 1 || !ok {
					return fail()
				}
				en, _, err := ast.LabelName(inner.Label)
				if err != nil || inner.Constraint != token.ILLEGAL {
					return fail()
				}
				addEntry(inner, fileEntry{kind: kind, name: en, region: region{span: lines(src, d, off)}, line: lineOf(d),
					label: span{off(inner.Label.Pos()), off(inner.Label.End())}})
				continue
			}
			wrap := []span{{lineStart(src, off(d.Pos())), off(s.Lbrace) + 1}, {off(s.Rbrace), off(s.Rbrace) + 1}}
			if !blankBefore(src, wrap[0].start, off(d.Pos())) {
				return fail()
			}
			for _, e := range s.Elts {
				switch e := e.(type) {
				case *ast.CommentGroup:
				case *ast.Field:
					en, _, err := ast.LabelName(e.Label)
					if err != nil || e.Constraint != token.ILLEGAL {
						return fail()
					}
					r := lines(src, e, off)
					if r.start <= wrap[0].end || r.end > wrap[1].start {
						return fail() // on a line with the struct's braces
					}
					addEntry(e, fileEntry{kind: kind, name: en, region: region{span: r}, wrap: wrap, line: lineOf(e),
						label: span{off(e.Label.Pos()), off(e.Label.End())}})
				default:
					return fail()
				}
			}
		default:
			return fail()
		}
	}
	reg := func(p pending) *region {
		if p.entry {
			return &x.entries[p.i].region
		}
		return &x.contexts[p.i]
	}
	// Regions must not overlap: each is whole lines of its own.
	var all []span
	for _, p := range regions {
		all = append(all, reg(p).span)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	for i := 1; i < len(all); i++ {
		if all[i].start < all[i-1].end {
			return fail()
		}
	}
	// What each region refers to: itself, a context, an import, or a
	// predeclared name.
	inContext := func(o int) bool {
		for _, c := range x.contexts {
			if c.start <= o && o < c.end {
				return true
			}
		}
		return false
	}
	for _, p := range regions {
		r := reg(p)
		used := map[string]bool{}
		bad := false
		ast.Walk(p.node, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok || id.Node == nil || bad {
				return !bad
			}
			if spec, ok := id.Node.(*ast.ImportSpec); ok {
				used[importName(spec)] = true
				return true
			}
			o := off(id.Node.Pos())
			if !(r.start <= o && o < r.end) && !inContext(o) {
				bad = true
			}
			return true
		}, nil)
		if bad {
			return fail()
		}
		for u := range used {
			r.uses = append(r.uses, u)
		}
		sort.Strings(r.uses)
	}
	for _, id := range f.Unresolved {
		if predeclared[id.Name] || strings.HasPrefix(id.Name, "__") {
			continue
		}
		if pkg := f.PackageName(); id.Name == pkg && len(x.header) > 0 && off(id.Pos()) < x.header[0].end {
			continue // the package clause's name
		}
		return fail()
	}
	return x
}

// importName is the name a file refers to an import by.
func importName(s *ast.ImportSpec) string {
	if s.Name != nil {
		return s.Name.Name
	}
	p := strings.Trim(s.Path.Value, `"`)
	p, _, _ = strings.Cut(p, "@")
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		return p[i+1:]
	}
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// lines returns the whole lines n is written on, with its comments.
func lines(src []byte, n ast.Node, off func(token.Pos) int) span {
	start, end := off(n.Pos()), off(n.End())
	for _, cg := range ast.Comments(n) {
		start = min(start, off(cg.Pos()))
		end = max(end, off(cg.End()))
	}
	start = lineStart(src, start)
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		end += i + 1
	} else {
		end = len(src)
	}
	return span{start, end}
}

// A lineCounter gives the line of offsets into src. The entries of a
// file are indexed in the order they are written, so it counts on from
// the last offset asked for: a file of n entries is read once, not n
// times (a 10,000-host file took seconds).
type lineCounter struct {
	src  []byte
	off  int // the last offset asked for
	line int // its line, from 1
}

// at returns the line offset o of src is on.
func (c *lineCounter) at(o int) int {
	if o < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.src[c.off:o], []byte("\n"))
	c.off = o
	return c.line
}

func lineStart(src []byte, o int) int {
	return bytes.LastIndexByte(src[:o], '\n') + 1
}

// blankBefore reports whether src[from:to] is spaces and tabs.
func blankBefore(src []byte, from, to int) bool {
	return len(bytes.Trim(src[from:to], " \t")) == 0
}

// blank returns a copy of src with everything but the spans keep replaced
// by spaces, newlines left as they are.
func blank(src []byte, keep []span) []byte {
	out := bytes.Clone(src)
	sort.Slice(keep, func(i, j int) bool { return keep[i].start < keep[j].start })
	at := 0
	clear := func(from, to int) {
		for i := from; i < to; i++ {
			if out[i] != '\n' {
				out[i] = ' '
			}
		}
	}
	for _, k := range keep {
		if k.start > at {
			clear(at, k.start)
		}
		at = max(at, k.end)
	}
	clear(at, len(out))
	return out
}
