package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/merge"
)

// A locator tells the emitter where the user wrote what produced each
// generated value, for the source map:
//
//   - a free-form `nixos` value is where the merge says it was set;
//   - a value a feature's CUE mapping computes is put at the feature's
//     most specific user field that explains it: the deepest part of the
//     host (hardware, network.tailscale, features.media, users.alice, ...)
//     whose #nixos, #hm or pool (#packages, #tcpPorts, ...) produced the
//     value, and within it the user's field whose name or value matches
//     the option (network.ssh.port for services.openssh.ports), else the
//     part's enable, else where the part was written;
//   - a fleet-pass value (a scrape target, a substituter) is put at the
//     field of the host whose facts it comes from;
//   - what the emitter adds itself (age.secrets, home-manager glue) at
//     the declaration it comes from.
//
// Positions are never inside the schema: only the user's layers are
// consulted.
type locator struct {
	f     *Fleet
	hosts map[string]*hostSources
	facts *factIndex
	// rel memoizes the user's files relative to the fleet's root, user
	// whether a file is the user's (userFile).
	rel  map[string]string
	user map[string]bool
	// by memoizes the layers' names (merge.Source.String).
	by map[merge.Source]string
	// words are the labels of every host's leaves and option names seen
	// so far, normalized, with the labels similar to each: the same
	// words come back for every host.
	words *wordIndex
	// frags are the indexes of hosts' fragments, by their JSON and the
	// host's users: hosts of one template mostly have the same.
	frags map[string]*fragIndex
	// ls are the locators of the same Generate, which share the
	// explanations of providers' facts.
	ls *locators
	// current is the host whose value is being located.
	current string
	// provisions are the places in other hosts' values fleetPass put
	// values at since it was last cleared, by provided's key: what a
	// host's source map depends on besides the host.
	provisions map[string]emit.Origin
	// member is the host being located as a member of a group of hosts
	// alike (see classSources), leads the sources of the classes' leads
	// by their keys.
	member string
	leads  map[string]*hostSources
	// ref is what the last origin read to find its answer.
	ref originRef
	// byValue memoizes fleetPass: the key (in provided) of the fact a
	// value of the fleet pass carries, when the fleet's index of facts
	// finds it by the value alone, "" when it finds none so.
	byValue map[string]string
	// hostPath is the path of the last host finish placed a value of.
	hostPath struct{ name, path string }
}

// locators make the locators of one Generate: one per goroutine, sharing
// the fleet's index of facts, built once, and the origins of the
// providers' facts.
type locators struct {
	f     *Fleet
	facts *factIndex
	// provided memoizes fleetPass's origins in a provider's value, by
	// provider, fact path and value (see provision): every host asks
	// for the same ones.
	mu       sync.Mutex
	provided map[string]emit.Origin
	// sigs are the signatures of the leaf sets seen (leafSet.sig), memos
	// bestLeaf's answers for those seen more than once, the last
	// maxLeafMemos in memoOrder.
	sigs      map[[2]uint64]bool
	memos     map[[2]uint64]*bestLeafMemo
	memoOrder [][2]uint64
}

func (f *Fleet) newLocators() *locators {
	l := &locator{f: f}
	return &locators{f: f, facts: l.factIndex(), provided: map[string]emit.Origin{}}
}

// new returns a locator for one goroutine.
func (ls *locators) new() *locator {
	return &locator{f: ls.f, facts: ls.facts, ls: ls, hosts: map[string]*hostSources{},
		rel: map[string]string{}, user: map[string]bool{}, by: map[merge.Source]string{},
		words: newWordIndex(), frags: map[string]*fragIndex{}, provisions: map[string]emit.Origin{},
		leads: map[string]*hostSources{}}
}

// known returns the origin of a provider's fact by its key, if known.
func (ls *locators) known(key string) (emit.Origin, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	o, ok := ls.provided[key]
	return o, ok
}

// remember records the origin of a provider's fact.
func (ls *locators) remember(key string, o emit.Origin) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.provided[key] = o
}

// hostSources indexes one host's fragments and leaves.
type hostSources struct {
	h    *Host
	tree *merge.Node
	// lead is, for a member located in the tree of its class's lead (see
	// classSources), the lead's sources, whose tree tree is; entry is
	// the member's own entry (of a lead, its own).
	lead  *hostSources
	entry *merge.Node
	// refs are, for a lead, how the origins of the values of its class's
	// groups' files were found (see relocated), factRefs those of its
	// class's facts, by path and value (see explainOwnFact).
	refs     map[*emit.MapPart]*partRefs
	factRefs map[string]originRef
	*fragIndex
	// leaves are the user's leaves of the host, read once for all its
	// values.
	leaves *leafSet
	// derived is what the fleet pass gives the host, decoded once;
	// unique memoizes uniqueAt.
	derived    any
	hasDerived bool
	unique     map[string]uniqueFact
	words      *wordIndex
}

// A fragIndex indexes a host's fragments (load.Host.Fragments).
type fragIndex struct {
	// nixos maps a computed value's path (joined with \x00) to the
	// deepest part of the host whose #nixos gives it.
	nixos map[string][]string
	// home maps, by user, a home value's path to the deepest part whose
	// #hm gives it.
	home map[string]map[string][]string
	// pools maps a pool (#packages, ...) and a key to the parts that add
	// it, with the name they add it under.
	pools map[string]map[string][]poolEntry
}

// A wordIndex memoizes, for one goroutine, the normal form of labels
// and which labels are similar to a word, over every label seen so far.
type wordIndex struct {
	normal  map[string]string
	labels  map[string]bool
	similar map[string][]string
}

func newWordIndex() *wordIndex {
	return &wordIndex{normal: map[string]string{}, labels: map[string]bool{}, similar: map[string][]string{}}
}

// norm is norm, memoized: the same labels come back for every value.
func (w *wordIndex) norm(label string) string {
	n, ok := w.normal[label]
	if !ok {
		n = norm(label)
		w.normal[label] = n
	}
	return n
}

// add makes the normalized label known.
func (w *wordIndex) add(label string) {
	if w.labels[label] {
		return
	}
	w.labels[label] = true
	for word, ls := range w.similar {
		if similar(label, word) {
			w.similar[word] = append(ls, label)
		}
	}
}

// similarTo returns the known labels similar to word.
func (w *wordIndex) similarTo(word string) []string {
	if out, ok := w.similar[word]; ok {
		return out
	}
	var out []string
	for l := range w.labels {
		if similar(l, word) {
			out = append(out, l)
		}
	}
	w.similar[word] = out
	return out
}

// A leafSet is the user's leaves below a node, as bestLeaf compares
// them, indexed.
type leafSet struct {
	leaves []leafInfo
	// labels are the distinct normalized labels of the leaves' paths,
	// ids their indices in labels; byLabel lists the leaves whose path
	// has each.
	labels  []string
	ids     map[string]int32
	byLabel map[string][]int
	// byValue lists the leaves with each value. Both lists are sorted.
	// movedValues, when set, has the lists of the values it holds
	// instead (see memberLeaves and byValueOf).
	byValue     map[string][]int
	movedValues map[string][]int
	// parts memoizes below, by the part's key; similar memoizes
	// similarLabels.
	parts   map[string][2]int
	similar map[string][]string
	index   *wordIndex
	// sig is the hash of the leaves as bestLeaf reads them (path, value,
	// whether a bool), a value that is the host's own name hashed as
	// such (see bestLeafOf).
	sig [2]uint64
	// Scratch space of bestLeaf: the labels marked with stamp are
	// those that name something the option names.
	words []string
	mark  []uint32
	stamp uint32
	cands []int
}

// isIndex reports whether a label is a list index.
func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// A leafInfo is one user's leaf.
type leafInfo struct {
	path   []string
	labels []string // normalized
	ids    []int32  // the labels' ids in a leafSet
	value  string
	isBool bool
	// own says the value is the host's name, given by the host layer
	// (see memberLeaves).
	own bool
}

// allLeaves returns the host's leaves.
func (s *hostSources) allLeaves() *leafSet {
	if s.lead != nil {
		return s.memberLeaves()
	}
	if s.leaves != nil {
		return s.leaves
	}
	ls := &leafSet{byLabel: map[string][]int{}, byValue: map[string][]int{}, parts: map[string][2]int{},
		similar: map[string][]string{}, ids: map[string]int32{}, index: s.words}
	// The leaves' labels and ids are carved out of chunks, allocated a
	// few hundred leaves at a time.
	const chunk = 2048
	var labels []string
	var ids []int32
	var sig [2]maphash.Hash
	sig[0].SetSeed(sigSeeds[0])
	sig[1].SetSeed(sigSeeds[1])
	s.tree.Leaves(nil, func(p []string, leaf *merge.Node) {
		i := len(ls.leaves)
		li := leafInfo{path: p, value: scalarString(leaf.Leaf().Value)}
		_, isBool := leaf.Leaf().Value.(bool)
		for j := range sig {
			h := &sig[j]
			for _, l := range p {
				h.WriteString(l)
				h.WriteByte(0)
			}
			switch {
			case li.value == s.h.Name:
				h.WriteByte(3)
			case isBool:
				h.WriteByte(2)
				h.WriteString(li.value)
			default:
				h.WriteByte(1)
				h.WriteString(li.value)
			}
			h.WriteByte(0)
		}
		if cap(labels)-len(labels) < len(p) {
			labels, ids = make([]string, 0, max(chunk, len(p))), make([]int32, 0, max(chunk, len(p)))
		}
		start := len(labels)
		for _, l := range p {
			w := s.words.norm(l)
			s.words.add(w)
			id, ok := ls.ids[w]
			if !ok {
				id = int32(len(ls.labels))
				ls.ids[w] = id
				ls.labels = append(ls.labels, w)
			}
			labels, ids = append(labels, w), append(ids, id)
			if k := ls.byLabel[w]; len(k) == 0 || k[len(k)-1] != i {
				ls.byLabel[w] = append(k, i)
			}
		}
		li.labels, li.ids = labels[start:len(labels):len(labels)], ids[start:len(ids):len(ids)]
		_, li.isBool = leaf.Leaf().Value.(bool)
		if v, ok := leaf.Leaf().Value.(string); ok && v == s.h.Name && leaf.Leaf().Source == (merge.Source{Layer: merge.Host, Name: s.h.Name}) {
			li.own = true
		}
		if li.value != "" {
			ls.byValue[li.value] = append(ls.byValue[li.value], i)
		}
		ls.leaves = append(ls.leaves, li)
	})
	ls.mark = make([]uint32, len(ls.labels))
	ls.sig = [2]uint64{sig[0].Sum64(), sig[1].Sum64()}
	s.leaves = ls
	return ls
}

// similarLabels returns the labels of the set similar to word, in no
// particular order.
func (ls *leafSet) similarLabels(word string) []string {
	if out, ok := ls.similar[word]; ok {
		return out
	}
	var out []string
	for _, l := range ls.index.similarTo(word) {
		if len(ls.byLabel[l]) > 0 {
			out = append(out, l)
		}
	}
	ls.similar[word] = out
	return out
}

type poolEntry struct {
	part []string
	name string
}

// A pooledList is a NixOS list #Host collects from a pool.
type pooledList struct {
	def  string
	path []string // "*" matches any label
}

var pooledLists = []pooledList{
	{"#packages", []string{"environment", "systemPackages"}},
	{"#tcpPorts", []string{"networking", "firewall", "allowedTCPPorts"}},
	{"#udpPorts", []string{"networking", "firewall", "allowedUDPPorts"}},
	{"#groups", []string{"users", "users", "*", "extraGroups"}},
}

func joinKey(p []string) string { return strings.Join(p, "\x00") }

func (l *locator) sources(h *Host) *hostSources {
	if s := l.hosts[h.Name]; s != nil {
		return s
	}
	fi := l.fragsOf(h)
	if len(l.hosts) >= maxSources {
		// Keep what a locator holds bounded: the hosts of one generation
		// are located one after the other. The host being located stays.
		for name := range l.hosts {
			if name != l.current {
				delete(l.hosts, name)
			}
		}
	}
	var s *hostSources
	if h.Name == l.member {
		s = l.classSources(h, fi)
	}
	if s == nil {
		s = &hostSources{h: h, tree: h.lf.Tree(h.h), fragIndex: fi, words: l.words}
	}
	l.hosts[h.Name] = s
	if h.Name == l.current && l.ls != nil {
		l.explainFacts(h)
	}
	return s
}

// fragsOf returns the index of h's fragments, by their JSON and the
// host's users: hosts of one template mostly have the same. Hosts alike
// share one by their fragments with the name left out (see hashRenamed),
// unless the index holds the name: newFragIndex reads only the
// fragments' keys but for the pools of ports, keyed by their values.
func (l *locator) fragsOf(h *Host) *fragIndex {
	b := h.h.Fragments()
	var users strings.Builder
	for _, u := range h.Users {
		users.WriteString("\x00" + u.Name)
	}
	// The key with the name is made only when it is used.
	named := func() string { return "n" + string(b) + users.String() }
	alike := shareClones && cloneNameRx.MatchString(h.Name) && hashRenamed(nil, b, h.Name, nil)
	var key string
	if alike {
		key = "f" + string(renamed(b, h.Name, "\x01")) + users.String()
	} else {
		key = named()
	}
	if fi := l.frags[key]; fi != nil {
		return fi
	}
	if len(l.frags) >= maxSources {
		// Bounded as the hosts' sources are.
		clear(l.frags)
	}
	fi := newFragIndex(h)
	if alike && fi.holds(h.Name) {
		key = named()
	}
	l.frags[key] = fi
	return fi
}

// holds reports whether name occurs in the index's keys.
func (fi *fragIndex) holds(name string) bool {
	for _, m := range fi.pools {
		for k, es := range m {
			if strings.Contains(k, name) {
				return true
			}
			for _, e := range es {
				if strings.Contains(e.name, name) || slices.Contains(e.part, name) {
					return true
				}
			}
		}
	}
	for k, p := range fi.nixos {
		if strings.Contains(k, name) || slices.Contains(p, name) {
			return true
		}
	}
	for _, m := range fi.home {
		for k, p := range m {
			if strings.Contains(k, name) || slices.Contains(p, name) {
				return true
			}
		}
	}
	return false
}

// maxSources is how many hosts' sources a locator keeps.
const maxSources = 16

// tree returns the merged tree of h, kept while the locator keeps h's
// sources.
func (l *locator) tree(h *Host) *merge.Node { return l.sources(h).tree }

// newFragIndex indexes the fragments of h.
func newFragIndex(h *Host) *fragIndex {
	s := &fragIndex{nixos: map[string][]string{}, home: map[string]map[string][]string{},
		pools: map[string]map[string][]poolEntry{}}
	var frags map[string]map[string]json.RawMessage
	if len(h.h.Fragments()) == 0 || json.Unmarshal(h.h.Fragments(), &frags) != nil {
		return s
	}
	paths := make([][]string, 0, len(frags))
	for p := range frags {
		if pp, err := ParsePath(p); err == nil {
			paths = append(paths, pp)
		}
	}
	// Shallow parts first, so that a deeper part's entry wins.
	sort.Slice(paths, func(i, j int) bool {
		if len(paths[i]) != len(paths[j]) {
			return len(paths[i]) < len(paths[j])
		}
		return formatPath(paths[i]) < formatPath(paths[j])
	})
	for _, part := range paths {
		defs := frags[formatPath(part)]
		if b, ok := defs["#nixos"]; ok {
			// A user's #nixos is the user's entry of users.users; every
			// other part's is a NixOS configuration of its own.
			var mount []string
			if len(part) == 2 && part[0] == "users" {
				mount = []string{"users", "users", part[1]}
			}
			leafPaths(decode(b), mount, func(p []string) { s.nixos[joinKey(p)] = part })
		}
		if b, ok := defs["#hm"]; ok {
			var users []string
			switch {
			case len(part) == 2 && part[0] == "users":
				// A user's whole home configuration: no more specific
				// than the user.
				continue
			case len(part) > 2 && part[0] == "users":
				users = []string{part[1]}
			default:
				for _, u := range h.Users {
					users = append(users, u.Name)
				}
			}
			for _, u := range users {
				if s.home[u] == nil {
					s.home[u] = map[string][]string{}
				}
				leafPaths(decode(b), nil, func(p []string) { s.home[u][joinKey(p)] = part })
			}
		}
		for _, pl := range pooledLists {
			b, ok := defs[pl.def]
			if !ok {
				continue
			}
			m, _ := decode(b).(map[string]any)
			for name, v := range m {
				key := name
				if pl.def == "#tcpPorts" || pl.def == "#udpPorts" {
					key = fmt.Sprint(v)
				}
				if s.pools[pl.def] == nil {
					s.pools[pl.def] = map[string][]poolEntry{}
				}
				s.pools[pl.def][key] = append(s.pools[pl.def][key], poolEntry{part, name})
			}
		}
	}
	return s
}

func decode(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	return v
}

// leafPaths calls f with the path of every leaf of data: scalars, lists'
// elements and marker structs.
func leafPaths(data any, prefix []string, f func([]string)) {
	switch x := data.(type) {
	case map[string]any:
		if isMarker(x) {
			f(prefix)
			return
		}
		for k, v := range x {
			leafPaths(v, append(prefix[:len(prefix):len(prefix)], k), f)
		}
	case []any:
		if len(x) == 0 {
			f(prefix)
		}
		for i, v := range x {
			leafPaths(v, append(prefix[:len(prefix):len(prefix)], strconv.Itoa(i)), f)
		}
	default:
		f(prefix)
	}
}

// locate is the emitter's Locate.
func (l *locator) locate(v *emit.Value) emit.Origin {
	if v.Host == "" {
		return l.fleetFile(v)
	}
	h := l.f.byName[v.Host]
	if h == nil {
		return emit.Origin{}
	}
	l.current = h.Name
	tree := l.tree(h)
	// What origin says of how it found the value's origin, from here on
	// (see relocated).
	l.ref = originRef{}
	switch v.Part {
	case emit.PartNixOS:
		p := append([]string{"nixos"}, v.Path...)
		n, depth := tree.Nearest(p)
		return l.origin(h, n, p[:depth])
	case emit.PartComputed:
		s := l.sources(h)
		part, hint := s.computedPart(v.Path, v.Data)
		return l.explain(h, part, v.Path, v.Data, hint)
	case emit.PartHome:
		s := l.sources(h)
		if p, ok := s.home[v.User][joinKey(v.Path)]; ok {
			return l.explain(h, p, v.Path, v.Data, "")
		}
		// What the user's whole home configuration sets (home.username,
		// home.stateVersion) belongs to the user on the host.
		p := []string{"users", v.User}
		n, depth := tree.Nearest(p)
		return l.origin(h, n, p[:depth])
	case emit.PartFleet:
		return l.fleetPass(h, v)
	case emit.PartGenerated:
		return l.generated(h, v.Path)
	case emit.PartFile:
		if n := tree.Lookup("disks"); n != nil {
			return l.origin(h, n, []string{"disks"})
		}
	}
	return l.origin(h, tree, nil)
}

// computedPart returns the part of the host that computes the value at
// path of its computed configuration, and the name a pool adds it under.
func (s *hostSources) computedPart(path []string, data any) ([]string, string) {
	for _, pl := range pooledLists {
		if len(path) != len(pl.path)+1 || !matchPath(pl.path, path[:len(pl.path)]) {
			continue
		}
		key := scalarString(data)
		if es := s.pools[pl.def][key]; len(es) > 0 {
			best := es[0]
			for _, e := range es[1:] {
				if len(e.part) > len(best.part) || len(e.part) == len(best.part) && formatPath(e.part) < formatPath(best.part) {
					best = e
				}
			}
			return best.part, best.name
		}
	}
	if p, ok := s.nixos[joinKey(path)]; ok {
		return p, ""
	}
	return nil, ""
}

func matchPath(pattern, path []string) bool {
	for i, p := range pattern {
		if p != "*" && p != path[i] {
			return false
		}
	}
	return true
}

// scalarString is a leaf value as a string: a string itself, a number or
// bool as written, a marker's value.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any:
		if isMarker(x) {
			for _, mv := range x {
				return scalarString(mv)
			}
		}
		return ""
	case []any:
		return ""
	}
	return fmt.Sprint(v)
}

// explain returns the origin of a value the part of host h at part
// produced, for the option at opt with value data: the user's field under
// part that best explains it (see locator), else the part's enable, else
// the part itself, else the nearest field above it that the user wrote.
func (l *locator) explain(h *Host, part, opt []string, data any, hint string) emit.Origin {
	return l.explainWith(h, part, opt, data, hint, false)
}

// explainWith is explain; with once, when the host's leaves are not
// indexed yet, it finds the best leaf by reading them once instead of
// indexing them: what a provider's fact asks of a host that is not the
// one being located, found the same.
func (l *locator) explainWith(h *Host, part, opt []string, data any, hint string, once bool) emit.Origin {
	tree := l.tree(h)
	n, depth := tree.Nearest(part)
	if depth == len(part) && !n.IsLeaf() {
		s := l.sources(h)
		var p []string
		var ok bool
		if once && s.leaves == nil && s.lead == nil {
			p, ok = scanBestLeaf(n, part, s.words.norm, opt, data, hint)
		} else {
			p, ok = l.bestLeafOf(s, part, opt, data, hint)
		}
		if ok {
			return l.origin(h, tree.Lookup(p...), p)
		}
		if e := n.Field("enable"); e != nil && e.IsLeaf() {
			return l.origin(h, e, append(part[:len(part):len(part)], "enable"))
		}
	}
	return l.origin(h, n, part[:depth])
}

// bestLeaf returns the path of the user's leaf below part (of the
// host's leaves, set) that best explains the value data of the option at
// opt: the more of its labels below part
// name the option (or the value, or the pool's name for it), and the
// closer its value is to the option's, the better. A leaf that matches
// neither by name nor by a telling value (a string or number equal to the
// option's) explains nothing.
func bestLeaf(set *leafSet, part []string, norm func(string) string, opt []string, data any, hint string) ([]string, bool) {
	words := optionWords(set.words[:0], norm, opt, data, hint)
	value := scalarString(data)
	// The labels that name something the option names, and the leaves
	// that have one or the option's value: the candidates.
	set.stamp++
	if set.stamp == 0 {
		clear(set.mark)
		set.stamp = 1
	}
	cands := set.cands[:0]
	defer func() { set.words, set.cands = words[:0], cands[:0] }()
	// Only the leaves below part can explain the value: in the set's
	// order (sorted paths) they are the ones from lo to hi.
	lo, hi := set.below(part)
	// Each list of candidates is sorted: with one, so are the candidates.
	lists := 0
	for _, w := range words {
		for _, l := range set.similarLabels(w) {
			if id := set.ids[l]; set.mark[id] != set.stamp {
				set.mark[id] = set.stamp
				n := len(cands)
				if cands = appendBetween(cands, set.byLabel[l], lo, hi); len(cands) > n {
					lists++
				}
			}
		}
	}
	if value != "" {
		n := len(cands)
		if cands = appendBetween(cands, set.byValueOf(value), lo, hi); len(cands) > n {
			lists++
		}
	}
	if lists > 1 {
		slices.Sort(cands)
	}
	var best []string
	bestScore := 0
	isMatched := func(leaf *leafInfo, j int) bool { return set.mark[leaf.ids[j]] == set.stamp }
	for i, c := range cands {
		if i > 0 && cands[i-1] == c {
			continue
		}
		leaf := &set.leaves[c]
		score, ok := leafScore(leaf, part, isMatched, value)
		if ok && (score > bestScore || score == bestScore && len(leaf.path) > len(best)) {
			best, bestScore = leaf.path, score
		}
	}
	return best, best != nil
}

// sigSeeds seed the hashes of leaf sets (leafSet.sig).
var sigSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// bestLeafOf is bestLeaf over the leaves of host s, memoized by the
// locators for the hosts whose leaves are the same (hosts alike, see
// cloneGroup): the same paths, values and kinds, but for values that
// are each host's own name. A value that is the host's name can tell
// something only about an option whose value or pool name holds that
// name: bestLeaf compares a leaf's value with the option's value alone,
// equal or contained in it. So the memo answers only for options
// whose value and hint hold neither the asking host's name nor that of
// the host that computed the answer.
func (l *locator) bestLeafOf(s *hostSources, part, opt []string, data any, hint string) ([]string, bool) {
	value := scalarString(data)
	if s.lead != nil {
		// A member's leaves are its lead's but for the values that are
		// each one's name (memberLeaves): an option whose value holds
		// neither finds the same leaf in both.
		if !strings.Contains(value, s.h.Name) && !strings.Contains(value, s.lead.h.Name) {
			return l.bestLeafOf(s.lead, part, opt, data, hint)
		}
		return bestLeaf(s.memberLeaves(), part, s.words.norm, opt, data, hint)
	}
	set := s.allLeaves()
	name := s.h.Name
	if l.ls == nil || !shareClones || strings.Contains(value, name) || strings.Contains(hint, name) {
		return bestLeaf(set, part, s.words.norm, opt, data, hint)
	}
	m := l.ls.bestMemo(set.sig)
	if m == nil {
		return bestLeaf(set, part, s.words.norm, opt, data, hint)
	}
	key := joinKey(part) + "\x01" + joinKey(opt) + "\x01" + value + "\x01" + hint
	m.mu.Lock()
	r, ok := m.best[key]
	m.mu.Unlock()
	if ok {
		bestMemoHits.Add(1)
		return r.path, r.ok
	}
	p, found := bestLeaf(set, part, s.words.norm, opt, data, hint)
	m.mu.Lock()
	m.best[key] = bestResult{p, found}
	m.mu.Unlock()
	return p, found
}

// bestMemoHits counts the answers bestLeafOf took from its memo (tests).
var bestMemoHits atomic.Int64

// A bestResult is what bestLeaf found.
type bestResult struct {
	path []string
	ok   bool
}

// A bestLeafMemo is bestLeaf's answers for the hosts whose leaves have one
// signature, by part, option, value and hint.
type bestLeafMemo struct {
	mu   sync.Mutex
	best map[string]bestResult
}

// maxLeafMemos is how many signatures' answers the locators keep.
const maxLeafMemos = 16

// bestMemo returns the memo of the leaf sets with signature sig, nil
// the first time a set has it (a host alike to no other asks for no
// room); it keeps those of the signatures asked for last.
func (ls *locators) bestMemo(sig [2]uint64) *bestLeafMemo {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.sigs == nil {
		ls.sigs, ls.memos = map[[2]uint64]bool{}, map[[2]uint64]*bestLeafMemo{}
	}
	if m := ls.memos[sig]; m != nil {
		return m
	}
	if !ls.sigs[sig] {
		ls.sigs[sig] = true
		return nil
	}
	if len(ls.memoOrder) >= maxLeafMemos {
		delete(ls.memos, ls.memoOrder[0])
		ls.memoOrder = ls.memoOrder[1:]
	}
	m := &bestLeafMemo{best: map[string]bestResult{}}
	ls.memos[sig] = m
	ls.memoOrder = append(ls.memoOrder, sig)
	return m
}

// below returns the indices of the set's leaves below part, from lo to
// hi: the leaves are in the order of their paths, label by label, so
// those below part follow one another.
func (ls *leafSet) below(part []string) (lo, hi int) {
	key := joinKey(part)
	if r, ok := ls.parts[key]; ok {
		return r[0], r[1]
	}
	lo = sort.Search(len(ls.leaves), func(i int) bool { return slices.Compare(ls.leaves[i].path, part) >= 0 })
	hi = sort.Search(len(ls.leaves), func(i int) bool { return i >= lo && !hasPrefix(ls.leaves[i].path, part) })
	ls.parts[key] = [2]int{lo, hi}
	return lo, hi
}

// appendBetween appends to out the indices of is from lo to hi; is is
// sorted.
func appendBetween(out, is []int, lo, hi int) []int {
	from, _ := slices.BinarySearch(is, lo)
	to, _ := slices.BinarySearch(is[from:], hi)
	return append(out, is[from:from+to]...)
}

// scanBestLeaf is bestLeaf over the leaves below part of n, the node at
// part, read once and not indexed: a leaf that is not a candidate of
// bestLeaf (no label similar to a word of the option, not the option's
// value) scores nothing, so the same leaf wins.
func scanBestLeaf(n *merge.Node, part []string, norm func(string) string, opt []string, data any, hint string) ([]string, bool) {
	words := optionWords(nil, norm, opt, data, hint)
	value := scalarString(data)
	memo := map[string]bool{}
	isLabel := func(l string) bool {
		m, ok := memo[l]
		if !ok {
			for _, w := range words {
				if similar(l, w) {
					m = true
					break
				}
			}
			memo[l] = m
		}
		return m
	}
	isMatched := func(leaf *leafInfo, j int) bool { return isLabel(leaf.labels[j]) }
	var best []string
	bestScore := 0
	var leaf leafInfo
	n.Leaves(part, func(p []string, ln *merge.Node) {
		leaf.path, leaf.labels = p, leaf.labels[:0]
		for _, x := range p {
			leaf.labels = append(leaf.labels, norm(x))
		}
		leaf.value = scalarString(ln.Leaf().Value)
		_, leaf.isBool = ln.Leaf().Value.(bool)
		score, ok := leafScore(&leaf, part, isMatched, value)
		if ok && (score > bestScore || score == bestScore && len(leaf.path) > len(best)) {
			best, bestScore = leaf.path, score
		}
	})
	return best, best != nil
}

// optionWords appends to words what an option names: the normalized
// labels of its path but the first (which names a namespace, services,
// programs, nix, not the thing) and list indices, its value and the
// pool's name for it.
func optionWords(words []string, norm func(string) string, opt []string, data any, hint string) []string {
	for i, o := range opt {
		if i > 0 && !isIndex(o) {
			words = append(words, norm(o))
		}
	}
	if value := scalarString(data); value != "" {
		words = append(words, norm(value))
	}
	if hint != "" {
		words = append(words, norm(hint))
	}
	return words
}

// leafScore scores how well a leaf below part explains an option with
// the value value, matched saying which of the leaf's labels (by index)
// name something the option names; false when it explains nothing.
func leafScore(leaf *leafInfo, part []string, matched func(leaf *leafInfo, j int) bool, value string) (int, bool) {
	if !hasPrefix(leaf.path, part) || len(leaf.path) == len(part) {
		return 0, false
	}
	// An enable matching tells something only beside another match.
	names, enables := 0, 0
	for j := len(part); j < len(leaf.labels); j++ {
		switch {
		case !matched(leaf, j):
		case leaf.labels[j] == "enable":
			enables++
		default:
			names++
		}
	}
	if names > 0 {
		names += enables
	}
	values := 0
	switch {
	case value != "" && leaf.value == value && leaf.isBool:
		values = 1
	case value != "" && leaf.value == value:
		values = 3
	case len(leaf.value) >= 3 && strings.Contains(value, leaf.value):
		values = 1
	}
	if names == 0 && values < 3 {
		return 0, false
	}
	return 2*names + values, true
}

// hasPrefix reports whether path starts with prefix.
func hasPrefix(path, prefix []string) bool {
	if len(path) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if path[i] != p {
			return false
		}
	}
	return true
}

// norm lower-cases a label and drops all but letters and digits, so that
// "PermitRootLogin" and "permitRootLogin", or "copilotCli" and
// "github-copilot-cli", can be compared.
func norm(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// similar reports whether two normalized words name the same thing: one
// is the other, or contains it and is at least four letters long
// ("port" and "ports", "copilotcli" and "githubcopilotcli"); enable,
// which many names contain, only names itself.
func similar(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if len(a) < 4 || len(b) < 4 || a == "enable" || b == "enable" {
		return false
	}
	return strings.Contains(a, b) || strings.Contains(b, a)
}

// origin returns the origin of node n of host h at path: a leaf's
// position, a struct's declaration, or (for a struct fleet made) its
// first leaf's; the host's declaration when there is none, or when the
// position would be in the schema.
func (l *locator) origin(h *Host, n *merge.Node, path []string) emit.Origin {
	var src merge.Source
	var r diag.Range
	// The positions are those of s's tree, of the host's own entry for a
	// member located in its lead's (see hostSources.pos); at is the path
	// of the node whose leaf or (isDecl) declaration r is.
	var s *hostSources
	var at []string
	var isDecl bool
	if len(path) > 0 {
		s = l.sources(h)
	}
	if n != nil && len(path) > 0 {
		switch {
		case n.Leaf() != nil:
			r, src = s.pos(n.Leaf(), path, false)
			at = path
		case n.Decl() != nil && n.Decl().Range.Start.IsValid():
			r, src = s.pos(n.Decl(), path, true)
			at, isDecl = path, true
		default:
			n.Leaves(path, func(p []string, leaf *merge.Node) {
				if !r.Start.IsValid() {
					r, src = s.pos(leaf.Leaf(), p, false)
					at = p
				}
			})
		}
	}
	// A position in the schema (where the merge keeps none of the
	// user's) gives way to the nearest struct above that the user
	// declared, else the host.
	depth := len(path)
	for i := len(path) - 1; !l.userFile(r) && i > 0; i-- {
		if d := l.tree(h).Lookup(path[:i]...).Decl(); d != nil {
			if dr, dsrc := s.pos(d, path[:i], true); l.userFile(dr) {
				r, src, depth = dr, dsrc, i
				at, isDecl = path[:i], true
			}
		}
	}
	hostDecl := false
	if !l.userFile(r) {
		r, src, depth = h.h.Decl, merge.Source{Layer: merge.Host, Name: h.Name}, 0
		hostDecl = true
	}
	l.ref = originRef{ok: true, host: h.Name, hostDecl: hostDecl, at: at, isDecl: isDecl, r: r, src: src, path: path[:depth]}
	return l.finish(h, r, src, path[:depth], "")
}

// finish returns the origin of a value of host h at r, set by src, at
// path of the host's value, which formatPath formats as formatted when
// that is not empty.
func (l *locator) finish(h *Host, r diag.Range, src merge.Source, path []string, formatted string) emit.Origin {
	if !r.Start.IsValid() || r.File == "" {
		return emit.Origin{}
	}
	by, ok := l.by[src]
	if !ok {
		by = src.String()
		l.by[src] = by
	}
	// formatPath formats each label alone: the path is the host's, then
	// the path in its value.
	if l.hostPath.name != h.Name || l.hostPath.path == "" {
		l.hostPath.name, l.hostPath.path = h.Name, formatPath([]string{"hosts", h.Name})
	}
	p := l.hostPath.path
	if len(path) > 0 {
		if formatted == "" {
			formatted = formatPath(path)
		}
		p += "." + formatted
	}
	return l.at(emit.Origin{Path: p}, r, by)
}

// at completes o with the position r, relative to the fleet's root.
func (l *locator) at(o emit.Origin, r diag.Range, by string) emit.Origin {
	if !r.Start.IsValid() || r.File == "" {
		return emit.Origin{}
	}
	file, ok := l.rel[r.File]
	if !ok {
		file = r.File
		if rel, err := filepath.Rel(l.f.l.ModRoot, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
		file = filepath.ToSlash(file)
		l.rel[r.File] = file
	}
	o.File, o.Line, o.Col, o.Source = file, r.Start.Line, r.Start.Col, by
	return o
}

// userFile reports whether r is in the user's files: not in the schema
// (under cue.mod).
func (l *locator) userFile(r diag.Range) bool {
	if !r.Start.IsValid() || r.File == "" {
		return false
	}
	user, ok := l.user[r.File]
	if !ok {
		rel, err := filepath.Rel(l.f.l.ModRoot, r.File)
		rel = filepath.ToSlash(rel)
		user = err != nil || rel != "cue.mod" && !strings.HasPrefix(rel, "cue.mod/")
		l.user[r.File] = user
	}
	return user
}

// generated locates what the emitter adds to a host's module: an
// age.secrets entry at the secret's declaration, the home-manager glue
// at the host's users, imports at its disk layout.
func (l *locator) generated(h *Host, path []string) emit.Origin {
	tree := l.tree(h)
	switch {
	case len(path) >= 3 && path[0] == "age" && path[1] == "secrets":
		if r, ok := l.f.l.Decls[formatPath([]string{"secrets", path[2]})]; ok {
			return l.at(emit.Origin{Path: formatPath([]string{"secrets", path[2]})}, r, "secrets")
		}
	case len(path) >= 3 && path[0] == "home-manager" && path[1] == "users":
		if n := tree.Lookup("users", path[2]); n != nil {
			return l.origin(h, n, []string{"users", path[2]})
		}
	case len(path) >= 1 && path[0] == "home-manager":
		if n := tree.Lookup("users"); n != nil {
			return l.origin(h, n, []string{"users"})
		}
	case len(path) >= 1 && path[0] == "imports":
		if n := tree.Lookup("disks"); n != nil {
			return l.origin(h, n, []string{"disks"})
		}
	}
	return l.origin(h, tree, nil)
}

// fleetFile locates a value of a file that belongs to no host: the
// flake's inputs at settings.inputs, its configurations at the hosts,
// the agenix rules at the secrets.
func (l *locator) fleetFile(v *emit.Value) emit.Origin {
	decl := func(path ...string) (emit.Origin, bool) {
		p := formatPath(path)
		r, ok := l.f.l.Decls[p]
		if !ok {
			return emit.Origin{}, false
		}
		return l.at(emit.Origin{Path: p}, r, path[0]), true
	}
	p := v.Path
	switch v.File {
	case "flake.nix":
		switch {
		case len(p) >= 2 && p[0] == "inputs":
			if o, ok := decl("settings", "inputs", p[1]); ok {
				return o
			}
		case len(p) >= 3 && p[0] == "outputs" && p[1] == "nixosConfigurations":
			name := strings.TrimSuffix(p[2], "-installer")
			if h := l.f.byName[name]; h != nil {
				if name != p[2] {
					return l.kept(h, "disks", "", func() emit.Origin {
						if n := l.tree(h).Lookup("disks"); n != nil {
							return l.origin(h, n, []string{"disks"})
						}
						return l.origin(h, nil, nil)
					})
				}
				return l.origin(h, nil, nil)
			}
		}
		if o, ok := decl("settings"); ok {
			return o
		}
	case "secrets/secrets.nix":
		if len(p) >= 1 {
			for _, name := range sortedNames(l.f.l.Secrets) {
				sv, err := l.f.secret(name)
				if err == nil && strings.HasSuffix(p[0], "/"+sv.File) || err == nil && p[0] == sv.File {
					if o, ok := decl("secrets", name); ok {
						return o
					}
				}
			}
		}
	}
	return emit.Origin{}
}

// A factIndex finds the host whose facts a fleet-pass value comes from.
type factIndex struct {
	// unique maps a fact's value to the one host that has it (values
	// several hosts share, such as a common port, tell nothing).
	unique map[string]factLeaf
	// byHost lists each host's facts.
	byHost map[string][]factLeaf
}

type factLeaf struct {
	host  string
	path  []string
	value string
}

func (l *locator) factIndex() *factIndex {
	if l.facts != nil {
		return l.facts
	}
	fi := &factIndex{unique: map[string]factLeaf{}, byHost: map[string][]factLeaf{}}
	shared := map[string]bool{}
	for _, h := range l.f.hosts {
		var leaves []factLeaf
		walkScalars(decode(h.h.Facts), nil, func(p []string, v string) {
			leaves = append(leaves, factLeaf{h.Name, p, v})
		})
		fi.byHost[h.Name] = leaves
		for _, fl := range leaves {
			if fl.value == "" || fl.value == "true" || fl.value == "false" {
				continue
			}
			if old, ok := fi.unique[fl.value]; ok && old.host != h.Name {
				shared[fl.value] = true
			} else if !ok {
				fi.unique[fl.value] = fl
			}
		}
	}
	for v := range shared {
		delete(fi.unique, v)
	}
	l.facts = fi
	return fi
}

// walkScalars calls f for every scalar leaf of data, in sorted order, with
// its value as a string.
func walkScalars(data any, prefix []string, f func([]string, string)) {
	switch x := data.(type) {
	case map[string]any:
		if isMarker(x) {
			f(prefix, scalarString(x))
			return
		}
		for _, k := range sortedNames(x) {
			walkScalars(x[k], append(prefix[:len(prefix):len(prefix)], k), f)
		}
	case []any:
		for i, v := range x {
			walkScalars(v, append(prefix[:len(prefix):len(prefix)], strconv.Itoa(i)), f)
		}
	default:
		f(prefix, scalarString(x))
	}
}

// fleetPass locates a value the fleet pass gave host h: at the field of
// the host whose facts it carries (a scrape target at the scraped host's
// monitoring, a substituter at the cache host's), found by the value
// itself, a name or address in it, or a value beside it (a target's host
// label); at h itself when none is found.
func (l *locator) fleetPass(h *Host, v *emit.Value) emit.Origin {
	fi := l.factIndex()
	value := scalarString(v.Data)
	key, known := l.byValue[value]
	if key != "" {
		o, _ := l.provision(key)
		return o
	}
	var ref factLeaf
	ok := false
	if !known {
		if ref, ok = fi.unique[value]; !ok {
			for _, t := range tokens(value) {
				if ref, ok = fi.unique[t]; ok {
					break
				}
			}
		}
		if !ok {
			l.rememberValue(value, "")
		}
	}
	// Found by the value alone, the fact is the same for every host
	// given the value (see byValue).
	byValue := ok
	if !ok {
		s := l.sources(h)
		if !s.hasDerived {
			s.derived, s.hasDerived = decode(h.h.Derived), true
		}
		for depth := len(v.Path) - 1; depth >= 0 && !ok; depth-- {
			ref, ok = s.uniqueAt(fi, v.Path[:depth])
		}
	}
	if !ok {
		return l.origin(h, nil, nil)
	}
	// The provider's fact the value carries: the value itself, else the
	// most specific fact written in it.
	fact := ref
	best := -1
	for _, fl := range fi.byHost[ref.host] {
		switch {
		case fl.value == value:
			fact, best = fl, 1<<30
		case len(fl.value) >= 2 && strings.Contains(value, fl.value) && len(fl.path)*1000+len(fl.value) > best:
			fact, best = fl, len(fl.path)*1000+len(fl.value)
		}
	}
	key = factKey(ref.host, fact)
	if byValue {
		l.rememberValue(value, key)
	}
	o, _ := l.provision(key)
	return o
}

// rememberValue records in byValue the key of the fact value carries by
// itself, "" for none.
func (l *locator) rememberValue(value, key string) {
	if l.byValue == nil || len(l.byValue) >= maxByValue {
		l.byValue = map[string]string{}
	}
	l.byValue[value] = key
}

// maxByValue bounds the values a locator's byValue keeps.
const maxByValue = 1 << 14

// A uniqueFact is what uniqueAt found.
type uniqueFact struct {
	ref factLeaf
	ok  bool
}

// uniqueAt returns the first fact of fi.unique among the scalars of what
// the fleet pass gives s's host at path, in sorted order; false when
// there is none, or nothing at path. It is memoized: the values the fleet
// pass gives a host (scrape targets, substituters) share their paths.
func (s *hostSources) uniqueAt(fi *factIndex, path []string) (factLeaf, bool) {
	key := joinKey(path)
	if u, ok := s.unique[key]; ok {
		return u.ref, u.ok
	}
	var u uniqueFact
	if at, found := emit.DataAt(s.derived, path); found {
		walkScalars(at, nil, func(_ []string, v string) {
			if !u.ok {
				u.ref, u.ok = fi.unique[v]
			}
		})
	}
	if s.unique == nil {
		s.unique = map[string]uniqueFact{}
	}
	s.unique[key] = u
	return u.ref, u.ok
}

// provision returns the origin of a fact of another host, by its key in
// provided (host, fact path and value), and records it among the
// provisions; false when there is no such host.
func (l *locator) provision(key string) (emit.Origin, bool) {
	o, ok := l.ls.known(key)
	if !ok {
		host, _, _ := strings.Cut(key, "\x00")
		provider := l.f.byName[host]
		if provider == nil {
			return emit.Origin{}, false
		}
		// Explaining one fact costs the provider's tree: explain them
		// all, or read them all from the cache.
		l.explainFacts(provider)
		if o, ok = l.ls.known(key); !ok {
			o = l.explainFact(provider, key)
			l.ls.remember(key, o)
		}
	}
	l.provisions[key] = o
	return o, true
}

// factKey is the key of host's fact fl in provided.
func factKey(host string, fl factLeaf) string {
	return host + "\x00" + joinKey(fl.path) + "\x00" + fl.value
}

// explainFact returns the origin of the fact of provider that key names
// (see provision).
func (l *locator) explainFact(provider *Host, key string) emit.Origin {
	// The path is joined with the same separator: the value is after
	// the last one.
	_, rest, _ := strings.Cut(key, "\x00")
	i := strings.LastIndexByte(rest, 0)
	path, value := rest[:max(i, 0)], rest[i+1:]
	var p []string
	if path != "" {
		p = strings.Split(path, "\x00")
	}
	return l.explainWith(provider, nil, p, value, "", true)
}

// explainFacts explains each fact of host h as provision would for a
// host that receives it, for every locator to share: a host that
// receives h's facts (a monitoring server receives every host's) then
// need not merge h's tree again. It is called while the locator has h's
// sources built to locate h's own values, or when another host first
// asks for one of h's facts. With the fleet's cache, the origins are
// kept there by what they depend on (factsKey), so that an edit that
// makes a monitoring server's files again does not merge every host's
// tree. A host has a few facts.
func (l *locator) explainFacts(h *Host) {
	facts := l.facts.byHost[h.Name]
	todo := false
	for _, fl := range facts {
		if _, ok := l.ls.known(factKey(h.Name, fl)); !ok {
			todo = true
			break
		}
	}
	if !todo {
		return
	}
	c := l.f.l.Cache()
	key := l.factsKey(h)
	if parts, ok := c.Get(key); ok && l.rememberFacts(parts) {
		return
	}
	parts := make([][]byte, 0, 1+6*len(facts))
	parts = append(parts, []byte(factsEntryVersion))
	if s := l.sources(h); s.lead == nil {
		s.allLeaves()
	}
	for _, fl := range facts {
		k := factKey(h.Name, fl)
		o, ok := l.ls.known(k)
		if !ok {
			o = l.explainOwnFact(h, k, fl)
			l.ls.remember(k, o)
		}
		parts = append(parts, []byte(k), []byte(o.File), []byte(strconv.Itoa(o.Line)), []byte(strconv.Itoa(o.Col)),
			[]byte(o.Path), []byte(o.Source))
	}
	c.Put(key, parts)
}

// factsEntryVersion names the layout of a cache entry of explainFacts:
// the version, then for each fact its key (see provision) and its
// origin's file, line, col, path and source.
const factsEntryVersion = "facts-1"

// factsKey returns the cache key of the origins of host h's facts, ""
// without a cache or when the host's tree has no hash: what the origins
// depend on is the host's name, declaration and merged tree with its
// provenance (load's Provenance hashes the entries it is merged from and
// where each is declared), its facts, and the fleet's root, which the
// origins' files are relative to. The cache's salt covers the program.
func (l *locator) factsKey(h *Host) string {
	c := l.f.l.Cache()
	if c == nil || h.h.Provenance == nil {
		return ""
	}
	s, w := newHash()
	hashStrings(w, h.Name, l.f.l.ModRoot)
	hashRange(w, h.h.Decl)
	hashBytes(w, h.h.Provenance)
	hashBytes(w, h.h.Facts)
	return c.Key("facts", sum(s, w))
}

// rememberFacts records the origins of an entry explainFacts kept, and
// reports false when it is not one.
func (l *locator) rememberFacts(parts [][]byte) bool {
	if len(parts)%6 != 1 || string(parts[0]) != factsEntryVersion {
		return false
	}
	origins := make([]emit.Origin, 0, len(parts)/6)
	for i := 1; i < len(parts); i += 6 {
		line, err1 := strconv.Atoi(string(parts[i+2]))
		col, err2 := strconv.Atoi(string(parts[i+3]))
		if err1 != nil || err2 != nil {
			return false
		}
		origins = append(origins, emit.Origin{File: string(parts[i+1]), Line: line, Col: col, Path: string(parts[i+4]), Source: string(parts[i+5])})
	}
	for i, o := range origins {
		l.ls.remember(string(parts[1+6*i]), o)
	}
	return true
}

// tokens returns the names and addresses written in a value: the parts
// between separators, each also without a :port suffix or brackets.
func tokens(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" /@,=\"'", r) }) {
		out = append(out, f)
		if i := strings.LastIndexByte(f, ':'); i > 0 {
			if _, err := strconv.Atoi(f[i+1:]); err == nil {
				f = f[:i]
				out = append(out, f)
			}
		}
		if t := strings.Trim(f, "[]"); t != f {
			out = append(out, t)
		}
	}
	return out
}

// receiversLast returns the indices of the fleet's hosts in the order
// Generate makes their files: the hosts the fleet pass gives the most
// (a monitoring server, which receives every host's facts) last, so that
// the facts they receive were explained while each provider's own files
// were made (explainFacts) and no provider's tree is merged again for
// them. The order changes no output.
func (f *Fleet) receiversLast() []int {
	order := make([]int, len(f.hosts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(f.hosts[a].h.Derived) - len(f.hosts[b].h.Derived) })
	return order
}
