package fleet

import (
	"encoding/binary"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/merge"
)

// The members of a group of hosts alike (see cloneGroup) are located in
// one tree.
//
// A host's merged tree is its shared layers (its template, hardware
// profile, users and their profiles) with its own entry (hosts.<name>)
// merged on top and its name set at its declaration. The merge reads no
// position and no host name: two hosts with the same shared layers whose
// own entries are alike but for positions and for leaves whose value is
// each host's own name (classKey) have trees alike but for those. A node
// of the host layer has the position of the node at the same path of the
// host's own entry (the name, when the entry has none, the host's
// declaration); a leaf of the host layer whose value is the host's name
// has the host's name.
//
// So the locator merges the tree of the first member of such a class it
// meets (the class's lead) and locates a later one in the lead's tree,
// decoding only the member's own entry: origin takes a position of the
// host layer from the member's entry (hostSources.pos), and bestLeaf reads
// the member's own leaves: the lead's, but for the values that are the
// host's name (memberLeaves). An option whose value holds neither name
// finds the same leaf in both (see bestLeafOf), and is answered from the
// lead's. What a class's key covers decides all the rest: the tree's
// shape, its other layers' positions, which positions are the user's.

// classMembers counts the hosts located in a lead's tree (tests).
var classMembers atomic.Int64

// nameLabel is the field of a host's value that the load sets to the
// host's name, at its declaration, after its layers are merged.
const nameLabel = "name"

// classSources returns the sources of host h, a member of a group of
// hosts alike: located in the tree of its class's lead when one is known,
// else with its own tree, as the class's lead when it can be one; nil
// when h has no class (its entry is not kept).
func (l *locator) classSources(h *Host, fi *fragIndex) *hostSources {
	e := h.lf.Entry(h.h)
	if e == nil {
		return nil
	}
	entry := e.Root()
	key, ok := l.classKey(h, entry)
	if !ok {
		return nil
	}
	if lead := l.leads[key]; lead != nil {
		if lead.h == h {
			return lead
		}
		classMembers.Add(1)
		return &hostSources{h: h, tree: lead.tree, lead: lead, entry: entry, fragIndex: fi, words: l.words}
	}
	s := &hostSources{h: h, tree: h.lf.Tree(h.h), fragIndex: fi, words: l.words}
	if s.tree != nil && s.isLead(entry) {
		if len(l.leads) >= maxSources {
			clear(l.leads)
		}
		s.entry = entry
		l.leads[key] = s
	}
	return s
}

// classKey returns the key of host h's class, from its own entry's tree:
// its shared layers (by name: one load's entries), and its entry's
// shape: every node's label, kind, source and value (h's name marked as
// such), and of each position whether it is valid, in a file, and the
// user's (userFile), and the same of h's declaration. False when the
// entry has a node of another source.
func (l *locator) classKey(h *Host, entry *merge.Node) (string, bool) {
	b := make([]byte, 0, 4096)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str("class-1")
	str(h.Template)
	str(h.HardwareProfile)
	b = binary.AppendUvarint(b, uint64(len(h.Users)))
	for _, u := range h.Users {
		str(u.Name)
		b = binary.AppendUvarint(b, uint64(len(u.Profiles)))
		for _, p := range u.Profiles {
			str(p)
		}
	}
	b = append(b, l.posKind(h.h.Decl))
	own := merge.Source{Layer: merge.Host, Name: h.Name}
	var walk func(n *merge.Node) bool
	walk = func(n *merge.Node) bool {
		if o := n.Leaf(); o != nil {
			if o.Source != own {
				return false
			}
			b = append(b, 'L', l.posKind(o.Range))
			if s, ok := o.Value.(string); ok && s == h.Name {
				b = append(b, 'N')
			} else {
				b = appendValue(b, o.Value)
			}
			return true
		}
		if d := n.Decl(); d != nil {
			if d.Source != own {
				return false
			}
			b = append(b, 'D', l.posKind(d.Range))
		} else {
			b = append(b, 'S')
		}
		b = binary.AppendUvarint(b, uint64(len(n.Fields())))
		for _, name := range n.Fields() {
			str(name)
			if !walk(n.Field(name)) {
				return false
			}
		}
		return true
	}
	if !walk(entry) {
		return "", false
	}
	return string(b), true
}

// posKind says what origin reads of a position: whether it is valid, in
// a file, and in the user's files.
func (l *locator) posKind(r diag.Range) byte {
	var k byte = '0'
	if r.Start.IsValid() {
		k |= 1
	}
	if r.File != "" {
		k |= 2
	}
	if l.userFile(r) {
		k |= 4
	}
	return k
}

// appendValue appends a leaf's value, its kind first.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case nil:
		return append(b, 'n')
	case int64:
		return strconv.AppendInt(append(b, 'i'), x, 10)
	case float64:
		return strconv.AppendFloat(append(b, 'g'), x, 'g', -1, 64)
	case *big.Int:
		b = append(b, 'b')
	default:
		b = append(b, 'x')
	}
	s := merge.Show(v)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// isLead reports whether s, a host's sources with its own tree, can lead
// its class: each position of the host layer in its tree is that of the
// node at the same path of its entry (pos), as the merge makes it.
func (s *hostSources) isLead(entry *merge.Node) bool {
	own := merge.Source{Layer: merge.Host, Name: s.h.Name}
	ok := true
	var walk func(n *merge.Node, path []string)
	walk = func(n *merge.Node, path []string) {
		if !ok {
			return
		}
		if o := n.Leaf(); o != nil {
			if o.Source == own && entryPos(entry, s.h.h.Decl, path, false) != o.Range {
				ok = false
			}
			return
		}
		if d := n.Decl(); d != nil && d.Source == own && entryPos(entry, s.h.h.Decl, path, true) != d.Range {
			ok = false
		}
		for _, name := range n.Fields() {
			walk(n.Field(name), append(path, name))
		}
	}
	walk(s.tree, make([]string, 0, 16))
	return ok
}

// entryPos returns the position of the leaf (or with decl the struct's
// declaration) at path of a host's entry: the host's declaration decl
// for its name when the entry has none (see nameLabel).
func entryPos(entry *merge.Node, decl diag.Range, path []string, isDecl bool) diag.Range {
	n := entry.Lookup(path...)
	switch {
	case n != nil && isDecl && n.Decl() != nil:
		return n.Decl().Range
	case n != nil && !isDecl && n.Leaf() != nil:
		return n.Leaf().Range
	case !isDecl && len(path) == 1 && path[0] == nameLabel:
		return decl
	}
	return diag.Range{}
}

// pos returns the position and source of o, the leaf or (isDecl) the
// declaration of the node at path of s's tree, for s's host: for a
// member located in its lead's tree, a position of the host layer is
// that of the member's own entry.
func (s *hostSources) pos(o *merge.Origin, path []string, isDecl bool) (diag.Range, merge.Source) {
	if s == nil || s.lead == nil || o.Source != (merge.Source{Layer: merge.Host, Name: s.lead.h.Name}) {
		return o.Range, o.Source
	}
	return entryPos(s.entry, s.h.h.Decl, path, isDecl), merge.Source{Layer: merge.Host, Name: s.h.Name}
}

// byValueOf returns the leaves of the set with value, sorted.
func (ls *leafSet) byValueOf(value string) []int {
	if is, ok := ls.movedValues[value]; ok {
		return is
	}
	return ls.byValue[value]
}

// memberLeaves returns the leaves of a member located in its lead's
// tree: the lead's, with the values of the host layer that are the
// lead's name the member's.
func (s *hostSources) memberLeaves() *leafSet {
	if s.leaves != nil {
		return s.leaves
	}
	lead := s.lead.allLeaves()
	from, to := s.lead.h.Name, s.h.Name
	set := *lead
	set.leaves = slices.Clone(lead.leaves)
	var moved []int
	for i := range set.leaves {
		if set.leaves[i].own {
			set.leaves[i].value = to
			moved = append(moved, i)
		}
	}
	if len(moved) > 0 {
		// The lead's lists of leaves by value, but for the two names'
		// (byValueOf): not copied.
		set.movedValues = map[string][]int{
			from: slices.DeleteFunc(slices.Clone(lead.byValue[from]), func(i int) bool { return set.leaves[i].own }),
			to:   slices.Sorted(slices.Values(slices.Concat(lead.byValue[to], moved))),
		}
	}
	// Scratch space of its own: bestLeaf stamps marks.
	set.mark, set.stamp, set.words, set.cands = make([]uint32, len(lead.labels)), 0, nil, nil
	s.leaves = &set
	return s.leaves
}

// An originRef is what origin read to find an origin, for another host of
// the class of the host it located: the node of the host's tree (at, a
// leaf or isDecl its declaration) whose position r it took, set by src,
// or the host's declaration (hostDecl); and the path of the host's value
// it names. ok is false when no origin was found by origin alone.
type originRef struct {
	ok, hostDecl, isDecl bool
	host                 string
	at, path             []string
	// formatted is path formatted (formatPath), once kept.
	formatted string
	r         diag.Range
	src       merge.Source
	// fi is the index of the fragments of the host located (see
	// relocated).
	fi *fragIndex
}

// maxRefs bounds the facts' refs a lead keeps.
const maxRefs = 1 << 14

// A refContent is what an originRef gives each member of a class, as a
// map's key: refs alike are kept once (see partRefs), so that a member's
// origin of each is found once. Of a ref at the host's declaration only
// that is kept, of one at the host layer the node it read (at, isDecl),
// of any other its position and source (see fromRef).
type refContent struct {
	fi               *fragIndex
	hostDecl, isDecl bool
	own              bool
	at, formatted    string
	hasPath          bool
	r                diag.Range
	src              merge.Source
}

// partRefs are what a lead keeps of the values of one group's files (a
// source map part made once for the group), by file and entry index: the
// refs (nil where none is kept) and the values' scalars; pool holds each
// ref once.
type partRefs struct {
	entries [][]entryRef
	pool    map[refContent]*originRef
}

// An entryRef is what partRefs keeps of one value.
type entryRef struct {
	ref *originRef
	// value is the value's scalar (see scalarString), known once read.
	value string
	known bool
}

// maxRefParts bounds the parts a lead keeps refs for.
const maxRefParts = 16

// refsOf returns the refs lead keeps for the values of part, made empty
// when it keeps none.
func (lead *hostSources) refsOf(part *emit.MapPart) *partRefs {
	if pr := lead.refs[part]; pr != nil {
		return pr
	}
	if lead.refs == nil || len(lead.refs) >= maxRefParts {
		lead.refs = map[*emit.MapPart]*partRefs{}
	}
	pr := &partRefs{entries: make([][]entryRef, len(part.Files)), pool: map[refContent]*originRef{}}
	for i, f := range part.Files {
		pr.entries[i] = make([]entryRef, len(f.Entries))
	}
	lead.refs[part] = pr
	return pr
}

// keep keeps ref as that of the value at file and entry.
func (pr *partRefs) keep(file, entry int, ref originRef) {
	c := refContent{fi: ref.fi, hostDecl: ref.hostDecl, formatted: ref.formatted, hasPath: len(ref.path) > 0}
	switch {
	case ref.hostDecl:
	case ref.src == merge.Source{Layer: merge.Host, Name: ref.host}:
		c.own, c.at, c.isDecl = true, joinKey(ref.at), ref.isDecl
	default:
		c.r, c.src = ref.r, ref.src
	}
	kept := pr.pool[c]
	if kept == nil {
		kept = &ref
		pr.pool[c] = kept
	}
	pr.entries[file][entry].ref = kept
}

// A relocation is what locating one member's values in its group's
// source map part keeps: the index in the member's part of the origin
// each ref gave (see relocated).
type relocation map[*originRef]int

// relocated returns the index in out, the source map part being made for
// host h, of the origin of the value v (as made for the placeholder from,
// see emit.MapPart.Relocate) of h, a member of a group of hosts
// alike, at entry of file in part, the group's source map. A value locate
// finds by origin alone, in the tree of h's class's lead, is found the
// same way for each host of the class whose value is the same and holds
// neither that host's name nor the lead's: the same nodes are read, and
// the same decisions made, with positions and names of the host layer
// that are each host's own. So the first such host's origin is kept as a
// ref by the lead, and the others' are made from it (fromRef), when they
// have the same index of fragments (see fragsOf), which says what part of
// the host computes a value; once for each ref and member (rel). The fleet
// pass's values depend on other hosts' facts and are located each time.
func (l *locator) relocated(h *Host, part, out *emit.MapPart, rel relocation, file, entry int, v *emit.Value, from string) int {
	locate := func() int {
		w := v.Renamed(from, h.Name)
		return out.Index(l.locate(&w))
	}
	if v.Part == emit.PartFleet {
		return locate()
	}
	l.current = h.Name
	s := l.sources(h)
	lead := s.classLead()
	// The value's scalar for h is this one with from replaced by h's
	// name (emit.Rename): it holds neither name when this one holds
	// neither them nor from, and is then this one.
	if lead == nil {
		return locate()
	}
	pr := lead.refsOf(part)
	e := &pr.entries[file][entry]
	if !e.known {
		e.value, e.known = scalarString(v.Data), true
	}
	if value := e.value; strings.Contains(value, from) || strings.Contains(value, h.Name) || strings.Contains(value, lead.h.Name) {
		return locate()
	}
	if ref := e.ref; ref != nil && ref.fi == s.fragIndex {
		refHits.Add(1)
		if i, ok := rel[ref]; ok {
			return i
		}
		i := out.Index(l.fromRef(h, s, *ref))
		rel[ref] = i
		return i
	}
	i := locate()
	if ref, ok := l.lastRef(h, s); ok {
		pr.keep(file, entry, ref)
	}
	return i
}

// classLead returns the lead of the class of s: its lead, s itself when
// it leads one, nil when it is in none.
func (s *hostSources) classLead() *hostSources {
	if s.lead == nil && s.entry != nil {
		return s // a lead: its entry is kept
	}
	return s.lead
}

// lastRef returns the ref of the last origin found, when it was found for
// host h, of sources s, by origin alone, ready to keep.
func (l *locator) lastRef(h *Host, s *hostSources) (originRef, bool) {
	ref := l.ref
	if !ref.ok || ref.host != h.Name {
		return originRef{}, false
	}
	ref.at, ref.path, ref.fi = slices.Clone(ref.at), slices.Clone(ref.path), s.fragIndex
	ref.formatted = formatPath(ref.path)
	return ref, true
}

// refHits and factRefHits count the origins relocated and
// explainOwnFact made from a ref (tests).
var refHits, factRefHits atomic.Int64

// fromRef returns the origin ref says host h, located with sources s, has.
func (l *locator) fromRef(h *Host, s *hostSources, ref originRef) emit.Origin {
	r, src := ref.r, ref.src
	switch {
	case ref.hostDecl:
		r, src = h.h.Decl, merge.Source{Layer: merge.Host, Name: h.Name}
	case src == (merge.Source{Layer: merge.Host, Name: ref.host}):
		r, src = entryPos(s.entry, h.h.Decl, ref.at, ref.isDecl), merge.Source{Layer: merge.Host, Name: h.Name}
	}
	return l.finish(h, r, src, ref.path, ref.formatted)
}

// explainOwnFact is explainFact for host h's own fact fl, of key k, while
// h's sources are built: the origin of a fact of a member of a class
// whose value holds neither its name nor its lead's is found as that of
// any other member's fact of the same path and value (see relocated).
func (l *locator) explainOwnFact(h *Host, k string, fl factLeaf) emit.Origin {
	s := l.sources(h)
	lead := s.classLead()
	if lead == nil || strings.Contains(fl.value, h.Name) || strings.Contains(fl.value, lead.h.Name) {
		return l.explainFact(h, k)
	}
	fk := joinKey(fl.path) + "\x01" + fl.value
	if ref, ok := lead.factRefs[fk]; ok && ref.fi == s.fragIndex {
		factRefHits.Add(1)
		return l.fromRef(h, s, ref)
	}
	l.ref = originRef{}
	o := l.explainFact(h, k)
	if ref, ok := l.lastRef(h, s); ok {
		if lead.factRefs == nil || len(lead.factRefs) >= maxRefs {
			lead.factRefs = map[string]originRef{}
		}
		lead.factRefs[fk] = ref
	}
	return o
}
