package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"runtime"
	"strconv"
	"sync/atomic"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/merge"
)

// Entries written alike but for their names (a fleet of clones: each
// host's declaration the same bytes as another's, but for its label) are
// evaluated once: one of them, the representative, is evaluated and
// decoded, and each other's entry is made from its record, its positions
// moved to the other's declarations (as a kept entry moves with them,
// see rebaser) and its sources renamed.
//
// That is sound because an entry's name cannot reach its value:
//   - its declarations are the same bytes but for the label, which has
//     the same length (so every column and length stays), in the same
//     files, at the same places within their structs (wrap);
//   - the package's contexts are kept in every copy and evaluated alike
//     for every entry; none can bind or test a name, since every file's
//     only embedding, if any, is the schema's #Fleet (fileIndex.neutral),
//     and the index admits no other declaration of a kind's field
//     (`hosts: [N=string]: ...` is not an entry);
//   - the schema's #Fleet gives each kind one pattern constraint,
//     `[#HostName]: #HostSpec`, with no label alias (schemaNeutral): it
//     applies to every valid name alike, and a name it does not match is
//     an error of checkNames, after which the package is read again
//     whole (nothing of the load is kept).
//
// The name still appears in the record as the entry's sources
// (merge.Source{Layer: merge.Host, Name: "p620-0005"}): those are
// renamed. For a conservative key, the name must not appear anywhere in
// its declaration but its label (a doc comment included), so nothing of
// the record that is not a source can be it. An entry with problems is
// not kept, nor shared: its class is then evaluated one by one.

// shareAlike turns the sharing on; the tests turn it off to compare.
var shareAlike = true

// madeAlikeCount counts the entries made from another's record, and
// evaluatedCount those evaluated by CUE, for the tests.
var madeAlikeCount, evaluatedCount atomic.Int64

// alikeLayers are the kinds whose entries are shared, with their layer:
// the secrets and settings keep their CUE values for placing errors.
var alikeLayers = map[Path]merge.Layer{
	HostsPath: merge.Host, TemplatesPath: merge.Template, HardwarePath: merge.Hardware,
	UsersPath: merge.User, ProfilesPath: merge.Profile,
}

// alike divides the entries want into classes of entries written alike:
// it returns the representatives (the first of each class, and every
// entry that is alike no other) and the other members of each class, by
// representative.
func (p *packageEntries) alike(want []entryID) ([]entryID, map[entryID][]entryID) {
	if !shareAlike || !p.neutral {
		return want, nil
	}
	first := map[string]entryID{}
	var reps []entryID
	members := map[entryID][]entryID{}
	for _, id := range want {
		k, ok := p.alikeKey(id)
		if !ok {
			reps = append(reps, id)
			continue
		}
		if r, ok := first[k]; ok {
			members[r] = append(members[r], id)
			continue
		}
		first[k] = id
		reps = append(reps, id)
	}
	return reps, members
}

// alikeKey returns the key of entry id's class: what its declarations
// are but for their labels; false when it is not shared.
func (p *packageEntries) alikeKey(id entryID) (string, bool) {
	if _, ok := alikeLayers[id.kind]; !ok || id.name == "" {
		return "", false
	}
	name := []byte(id.name)
	quoted := []byte(strconv.Quote(id.name))
	h := sha256.New()
	writeString(h, string(id.kind))
	for _, ct := range p.entries[id] {
		sf := p.files[ct.file]
		e := ct.entry
		l := e.label
		if l.end <= l.start || l.start < e.start || l.end > e.end {
			return "", false
		}
		tok := sf.src[l.start:l.end]
		if !bytes.Equal(tok, name) && !bytes.Equal(tok, quoted) {
			return "", false // escaped: the bytes are not the name
		}
		decl := sf.src[e.start:e.end]
		// The name nowhere but in its label.
		for o, at := 0, 0; ; o += at + 1 {
			at = bytes.Index(decl[o:], name)
			if at < 0 {
				break
			}
			if s := e.start + o + at; s < l.start || s+len(name) > l.end {
				return "", false
			}
		}
		writeUint64(h, uint64(ct.file))
		for _, w := range e.wrap {
			// The same struct: positions there do not move.
			writeUint64(h, uint64(w.start))
			writeUint64(h, uint64(w.end))
		}
		writeUint64(h, uint64(len(e.wrap)))
		writeBytes(h, sf.src[e.start:l.start])
		writeUint64(h, uint64(len(tok)))
		writeUint64(h, uint64(len(tok)-len(name))) // quoted or not
		writeBytes(h, sf.src[l.end:e.end])
	}
	writeUint64(h, uint64(len(p.entries[id])))
	return string(h.Sum(nil)), true
}

// evaluateAlike evaluates the entries want as evaluate does, each class
// of entries written alike once (see alike).
func (p *packageEntries) evaluateAlike(goctx context.Context, inst *build.Instance, want []entryID) (map[entryID]*entry, bool) {
	reps, members := p.alike(want)
	got, ok := p.evaluate(goctx, inst, reps)
	if !ok || len(members) == 0 {
		return got, ok
	}
	var again []entryID
	for _, r := range reps {
		ms := members[r]
		if len(ms) == 0 {
			continue
		}
		parts, ok := encodeEntry(got[r], p.at(r))
		if !ok {
			// Problems: each found where it is.
			again = append(again, ms...)
			continue
		}
		made := make([]*entry, len(ms))
		if parallel(goctx, min(runtime.NumCPU(), 8, len(ms)), len(ms), func(_, i int) {
			made[i] = p.madeAlike(parts, r, ms[i])
		}) != nil {
			return nil, false
		}
		for i, m := range ms {
			if made[i] == nil {
				again = append(again, m)
				continue
			}
			got[m] = made[i]
			madeAlikeCount.Add(1)
		}
	}
	if len(again) > 0 {
		sortIDs(again)
		more, ok := p.evaluate(goctx, inst, again)
		if !ok {
			return nil, false
		}
		for id, e := range more {
			got[id] = e
		}
	}
	return got, true
}

// madeAlike returns the entry of m made from the record parts of r, an
// entry written alike (encodeEntry); nil when it cannot be.
func (p *packageEntries) madeAlike(parts [][]byte, r, m entryID) *entry {
	from := merge.Source{Layer: alikeLayers[r.kind], Name: r.name}
	to := merge.Source{Layer: from.Layer, Name: m.name}
	e, ok := decodeEntryAs(parts, p.at(m), m.kind == HostsPath, func(s merge.Source) merge.Source {
		if s == from {
			return to
		}
		return s
	})
	if !ok {
		return nil
	}
	// Where its value starts, as readEntry has it.
	e.start = e.decl
	return e
}

// embedsFleet reports whether the embedding d is the schema's #Fleet.
func embedsFleet(d *ast.EmbedDecl) bool {
	sel, ok := d.Expr.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	spec, ok := x.Node.(*ast.ImportSpec)
	if !ok || spec.Path == nil {
		return false
	}
	path, err := strconv.Unquote(spec.Path.Value)
	if err != nil || path != SchemaImportPath {
		return false
	}
	n, _, err := ast.LabelName(sel.Sel)
	return err == nil && n == "#Fleet"
}

// schemaNeutral reports whether the schema inst imports gives each kind
// of #Fleet one pattern constraint binding no label (`hosts?:
// [#HostName]: #HostSpec`), and #Fleet nothing else that could tell
// entries apart by name.
func schemaNeutral(inst *build.Instance) bool {
	for _, imp := range inst.Imports {
		if imp.ImportPath != SchemaImportPath {
			continue
		}
		found := 0
		for _, f := range imp.Files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.Field)
				if !ok {
					continue
				}
				if n, _, _ := ast.LabelName(fd.Label); n != "#Fleet" {
					continue
				}
				found++
				if !fleetNeutral(fd) {
					return false
				}
			}
		}
		return found == 1
	}
	return false
}

// fleetNeutral checks the declaration of #Fleet (see schemaNeutral).
func fleetNeutral(fd *ast.Field) bool {
	s, ok := fd.Value.(*ast.StructLit)
	if !ok || fd.Alias != nil {
		return false
	}
	for _, d := range s.Elts {
		switch d := d.(type) {
		case *ast.CommentGroup:
		case *ast.Field:
			n, ident, err := ast.LabelName(d.Label)
			if _, alias := d.Label.(*ast.Alias); alias || err != nil || !ident || d.Alias != nil {
				return false
			}
			if n == string(SettingsPath) {
				continue
			}
			if _, ok := kindNames[n]; !ok {
				return false
			}
			// [#Name]: #Spec
			v, ok := d.Value.(*ast.StructLit)
			if !ok || len(v.Elts) != 1 {
				return false
			}
			pf, ok := v.Elts[0].(*ast.Field)
			if !ok || pf.Alias != nil || pf.Constraint != token.ILLEGAL {
				return false
			}
			l, ok := pf.Label.(*ast.ListLit)
			if !ok || len(l.Elts) != 1 {
				return false
			}
			if _, ok := l.Elts[0].(*ast.Ident); !ok {
				return false
			}
			if _, ok := pf.Value.(*ast.Ident); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}
