package fleet

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/internal/wire"
)

// A genCache keeps each host's generated files and source map in
// the fleet's evaluation cache, under the hash of everything they are
// made from: the host's values and provenance, the fleet's settings,
// secrets and declarations, and, for the values the fleet pass gave the
// host, every host's facts. The source map may also place a value at
// another host (the cache server a substituter comes from): the entry
// lists those places with their origins, and is used only while they are
// the same. A host whose inputs did not change reuses its files; nothing
// is kept without a cache.
type genCache struct {
	f       *Fleet
	c       *load.Cache
	ef      *emit.Fleet
	modules []string
	// fleet is the hash of what every host's files depend on; facts
	// that of every host's facts.
	fleet, facts []byte
	// trees memoizes treeHash; usersOf, users.
	mu      sync.Mutex
	trees   map[string][]byte
	usersOf map[string]map[string]map[string]any
	// clones are the groups of hosts whose files are made once (see
	// cloneGroup).
	clones *clones
}

// users decodes the users of an entry (hostFiles.users), once for each
// distinct encoding: most hosts have the same users. The values are
// shared: readers must not change them.
func (g *genCache) users(b []byte) (map[string]map[string]any, bool) {
	g.mu.Lock()
	u, ok := g.usersOf[string(b)]
	g.mu.Unlock()
	if ok {
		return u, true
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, false
	}
	g.mu.Lock()
	if g.usersOf == nil {
		g.usersOf = map[string]map[string]map[string]any{}
	}
	g.usersOf[string(b)] = u
	g.mu.Unlock()
	return u, true
}

// newHash returns a SHA-256 and a buffer in front of it: the hash* functions
// write many small pieces. The buffer is reused once sum is called: each
// host's keys are hashed in a run, mostly of a few small pieces (a 16 KB
// buffer each was a sixth of what an edit of 1000 hosts allocated).
func newHash() (hash.Hash, *bufio.Writer) {
	s := sha256.New()
	w := hashBuffers.Get().(*bufio.Writer)
	w.Reset(s)
	return s, w
}

var hashBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}

// sum flushes w and returns the sum of s; w is not used again.
func sum(s hash.Hash, w *bufio.Writer) []byte {
	w.Flush()
	w.Reset(nil)
	hashBuffers.Put(w)
	return s.Sum(nil)
}

// treeHash returns the hash of host h's merged tree with its provenance
// and its declaration, computed once per Generate.
func (g *genCache) treeHash(h *Host) []byte {
	g.mu.Lock()
	b, ok := g.trees[h.Name]
	g.mu.Unlock()
	if ok {
		return b
	}
	s, w := newHash()
	hashStrings(w, h.Name)
	hashRange(w, h.h.Decl)
	if h.h.Provenance != nil {
		// The entries it is merged from, where they are.
		w.Write(h.h.Provenance)
	} else {
		hashTree(w, h.lf.Tree(h.h))
	}
	b = sum(s, w)
	g.mu.Lock()
	g.trees[h.Name] = b
	g.mu.Unlock()
	return b
}

func (f *Fleet) newGenCache(ef *emit.Fleet, modules []string) *genCache {
	g := &genCache{f: f, c: f.l.Cache(), ef: ef, modules: modules, trees: map[string][]byte{}}
	if g.c == nil {
		return g
	}
	hs, h := newHash()
	hashStrings(h, genEntryVersion, ef.OutDir, ef.SecretsDir, f.l.ModRoot)
	hashStrings(h, modules...)
	for _, s := range ef.Secrets {
		hashStrings(h, s.Name, s.File, s.Owner, s.Group, s.Mode)
	}
	hashBytes(h, f.l.Settings)
	decls := sortedNames(f.l.Decls)
	for _, d := range decls {
		hashStrings(h, d)
		hashRange(h, f.l.Decls[d])
	}
	g.fleet = sum(hs, h)
	hs, h = newHash()
	for _, host := range f.hosts {
		hashStrings(h, host.Name)
		hashBytes(h, host.h.Facts)
	}
	g.facts = sum(hs, h)
	return g
}

// genEntryVersion names the layout of an entry; genFilesVersion that of
// the entry of its files.
const (
	genEntryVersion = "gen-4"
	genFilesVersion = "genfiles-1"
)

// A provision is a place in another host's value a host's source map put
// a value at (see locator.provision), and the hash of that host's tree
// then: while it is the same, so is the place.
type provision struct {
	Key    string
	Origin emit.Origin
	Tree   []byte
}

// A host's entry is in two: what the fleet-wide files need of the host
// with its files' paths and the SHA-256 of their contents, and, in an
// entry of their own (filesKey), the files. When the tree's manifest
// (tree.go) knows every file of an unchanged host as the last run left it,
// with the same hash, the files are not read at all: for 1000 hosts they
// are about 50 MB.

// A keeper is a fileSink that can take a file by the hash of its
// contents alone, when the old tree has it.
type keeper interface {
	// keepAll takes the files (paths and hashes) and reports true when
	// the old tree has each of them with those contents, as the last run
	// left it; else it takes none.
	keepAll(files []fileSum) bool
}

// A fileSum is a generated file's path and the SHA-256 of its contents.
type fileSum struct {
	path string
	sum  [sha256.Size]byte
}

// hostFiles gives the files of host h to sink, and what the fleet-wide
// files need of it to out: from the cache when an entry for its inputs is
// there, else generated with the locator l and kept.
func (g *genCache) hostFiles(h *Host, l *locator, out *hostFiles, sink fileSink) error {
	key := g.key(h)
	if parts, ok := g.c.Get(key); ok {
		if sums, ok := g.decode(parts, l, out); ok {
			if k, ok := sink.(keeper); ok && k.keepAll(sums) {
				return nil
			}
			if files, ok := g.files(key, sums); ok {
				return putAll(sink, files)
			}
		}
	}
	*out = hostFiles{} // decode's users are shared
	clear(l.provisions)
	if err := g.f.generateHost(g.ef, g.clones, h, g.modules, l, out); err != nil {
		return err
	}
	if key != "" {
		if parts, files, ok := g.encode(out, l.provisions); ok {
			g.c.Put(filesKey(g.c, key), files)
			g.c.Put(key, parts)
		}
	}
	files := out.files
	out.files = nil
	return putAll(sink, files)
}

// putAll gives files to sink.
func putAll(sink fileSink, files []emit.File) error {
	for _, f := range files {
		if err := sink.put(f.Path, f.Data); err != nil {
			return err
		}
	}
	return nil
}

// genFilesRead counts the entries of files read (tests).
var genFilesRead atomic.Int64

// filesKey returns the key of the files of the entry key.
func filesKey(c *load.Cache, key string) string { return c.Key("genfiles", []byte(key)) }

// files reads the files of the entry key, which are sums; false when they
// are not there, or not those.
func (g *genCache) files(key string, sums []fileSum) ([]emit.File, bool) {
	parts, ok := g.c.Get(filesKey(g.c, key))
	if !ok || len(parts) != 1+2*len(sums) || string(parts[0]) != genFilesVersion {
		return nil, false
	}
	files := make([]emit.File, len(sums))
	for i, fs := range sums {
		p, data := parts[1+2*i], parts[2+2*i]
		if string(p) != fs.path || sha256.Sum256(data) != fs.sum {
			return nil, false
		}
		files[i] = emit.File{Path: fs.path, Data: data}
	}
	genFilesRead.Add(1)
	return files, true
}

// key returns the key of h's entry, "" without a cache.
func (g *genCache) key(h *Host) string {
	if g.c == nil {
		return ""
	}
	ss, s := newHash()
	s.Write(g.fleet)
	if h.h.Derived != nil {
		s.Write(g.facts)
	}
	hashStrings(s, h.Name)
	if h.h.Key != nil {
		// What the host's values, configurations, users and tree are
		// made from: the rest need not be read.
		hashStrings(s, "host key")
		hashBytes(s, h.h.Key)
		hashBytes(s, h.h.Derived)
		return g.c.Key("gen", sum(ss, s))
	}
	for _, u := range h.Users {
		hashStrings(s, u.Name)
	}
	hashRange(s, h.h.Decl)
	hashBytes(s, h.h.Fragments())
	s.Write(g.treeHash(h))
	hashStrings(s, h.Template, h.HardwareProfile)
	hashStrings(s, h.h.Doc...)
	hashBytes(s, h.h.NixOS())
	hashBytes(s, h.h.JSON())
	hashBytes(s, h.h.Derived)
	for _, u := range h.Users {
		hashStrings(s, u.Name)
		hashStrings(s, u.Profiles...)
		hashBytes(s, h.h.Home[u.Name])
	}
	return g.c.Key("gen", sum(ss, s))
}

// encode lays out an entry: the host's key, secrets and users as the
// fleet-wide files need them, the places in other hosts' values its
// source map put values at (provisions, by key) with their origins, the
// files its source map maps, then each file's path and the hash of its
// data (its source map's among them); and the entry of its files: each
// file's path and data.
func (g *genCache) encode(out *hostFiles, provisions map[string]emit.Origin) (entry, files [][]byte, ok bool) {
	users, err := json.Marshal(out.users)
	if err != nil {
		return nil, nil, false
	}
	var prov []provision
	for _, key := range sortedNames(provisions) {
		host, _, _ := strings.Cut(key, "\x00")
		p := g.f.byName[host]
		if p == nil {
			return nil, nil, false
		}
		prov = append(prov, provision{key, provisions[key], g.treeHash(p)})
	}
	pb := encodeProvisions(prov)
	var secrets []string
	for s, on := range out.secrets {
		if on {
			secrets = append(secrets, s)
		}
	}
	sort.Strings(secrets)
	parts := [][]byte{[]byte(genEntryVersion), []byte(out.hostKey), []byte(strings.Join(secrets, "\x00")), users, pb, []byte(strings.Join(out.mapped, "\x00"))}
	files = [][]byte{[]byte(genFilesVersion)}
	for _, f := range out.files {
		sum := sha256.Sum256(f.Data)
		parts = append(parts, []byte(f.Path), sum[:])
		files = append(files, []byte(f.Path), f.Data)
	}
	return parts, files, true
}

// encodeProvisions lays out provisions as strings one after the other,
// each its length (a uvarint) and its bytes: for each, its key, its
// origin's file, line, column, path and source, and the tree's hash.
// (encoding/json took a tenth of an edit of 1000 hosts to read them.)
func encodeProvisions(prov []provision) []byte {
	var b []byte
	for _, p := range prov {
		o := p.Origin
		for _, s := range []string{p.Key, o.File, strconv.Itoa(o.Line), strconv.Itoa(o.Col), o.Path, o.Source, string(p.Tree)} {
			b = wire.AppendString(b, s)
		}
	}
	return b
}

// decodeProvisions reads what encodeProvisions wrote.
func decodeProvisions(b []byte) ([]provision, bool) {
	var prov []provision
	r := wire.NewReader(b)
	for r.Len() > 0 {
		var f [7]string
		for i := range f {
			f[i] = r.String()
		}
		line, err1 := strconv.Atoi(f[2])
		col, err2 := strconv.Atoi(f[3])
		if r.Bad() || err1 != nil || err2 != nil {
			return nil, false
		}
		prov = append(prov, provision{Key: f[0], Origin: emit.Origin{File: f[1], Line: line, Col: col, Path: f[4], Source: f[5]}, Tree: []byte(f[6])})
	}
	return prov, true
}

// decode reads an entry into out and returns its files' paths and
// hashes, and reports false when it is not one or a place in another
// host's value it depends on moved (checked with the locator l).
func (g *genCache) decode(parts [][]byte, l *locator, out *hostFiles) ([]fileSum, bool) {
	if len(parts) < 6 || len(parts)%2 != 0 || string(parts[0]) != genEntryVersion {
		return nil, false
	}
	prov, ok := decodeProvisions(parts[4])
	if !ok {
		return nil, false
	}
	for _, p := range prov {
		host, _, _ := strings.Cut(p.Key, "\x00")
		if h := g.f.byName[host]; h != nil && bytes.Equal(g.treeHash(h), p.Tree) {
			continue
		}
		if now, ok := l.provision(p.Key); !ok || now != p.Origin {
			return nil, false
		}
	}
	var r hostFiles
	if r.users, ok = g.users(parts[3]); !ok {
		return nil, false
	}
	r.hostKey = string(parts[1])
	r.secrets = map[string]bool{}
	if len(parts[2]) > 0 {
		for _, s := range strings.Split(string(parts[2]), "\x00") {
			r.secrets[s] = true
		}
	}
	if len(parts[5]) > 0 {
		r.mapped = strings.Split(string(parts[5]), "\x00")
	}
	var sums []fileSum
	for i := 6; i < len(parts); i += 2 {
		if len(parts[i+1]) != sha256.Size {
			return nil, false
		}
		fs := fileSum{path: string(parts[i])}
		copy(fs.sum[:], parts[i+1])
		sums = append(sums, fs)
	}
	*out = r
	return sums, true
}

// hashTree writes the merged tree n, with the provenance of every value,
// in a form that differs for any two trees that differ.
func hashTree(h *bufio.Writer, n *merge.Node) {
	if n == nil {
		h.Write([]byte{0})
		return
	}
	if o := n.Leaf(); o != nil {
		h.Write([]byte{1})
		hashOrigin(h, o)
	} else {
		h.Write([]byte{2})
		hashUint(h, uint64(len(n.Fields())))
		for _, name := range n.Fields() {
			hashStrings(h, name)
			hashTree(h, n.Field(name))
		}
	}
	hashOrigin(h, n.Decl())
	hashUint(h, uint64(len(n.Overridden)))
	for i := range n.Overridden {
		hashOrigin(h, &n.Overridden[i])
	}
}

func hashOrigin(h *bufio.Writer, o *merge.Origin) {
	if o == nil {
		h.Write([]byte{0})
		return
	}
	h.Write([]byte{1, byte(o.Source.Layer)})
	if o.Doc {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	hashStrings(h, o.Source.Name)
	hashRange(h, o.Range)
	hashValue(h, o.Value)
}

// hashValue writes a leaf value, tagged with its type.
func hashValue(h *bufio.Writer, v any) {
	switch x := v.(type) {
	case nil:
		h.Write([]byte{'n'})
	case bool:
		if x {
			h.Write([]byte{'t'})
		} else {
			h.Write([]byte{'f'})
		}
	case string:
		h.Write([]byte{'s'})
		hashStrings(h, x)
	case int64:
		h.Write([]byte{'i'})
		hashUint(h, uint64(x))
	case float64:
		h.Write([]byte{'d'})
		hashUint(h, math.Float64bits(x))
	case *big.Int:
		h.Write([]byte{'I'})
		hashStrings(h, x.String())
	case []any:
		h.Write([]byte{'['})
		hashUint(h, uint64(len(x)))
		for _, e := range x {
			hashValue(h, e)
		}
	case map[string]any:
		h.Write([]byte{'{'})
		keys := sortedNames(x)
		hashUint(h, uint64(len(keys)))
		for _, k := range keys {
			hashStrings(h, k)
			hashValue(h, x[k])
		}
	default:
		// Not a type a tree holds (see merge.Origin).
		h.Write([]byte{'?'})
		b, _ := json.Marshal(v)
		hashBytes(h, b)
	}
}

func hashRange(h *bufio.Writer, r diag.Range) {
	hashStrings(h, r.File)
	for _, x := range []int{r.Start.Line, r.Start.Col, r.Start.Offset, r.End.Line, r.End.Col, r.End.Offset} {
		hashUint(h, uint64(x))
	}
}

func hashStrings(h *bufio.Writer, ss ...string) {
	for _, s := range ss {
		hashUint(h, uint64(len(s)))
		h.WriteString(s)
	}
}

func hashBytes(h *bufio.Writer, b []byte) {
	if b == nil {
		hashUint(h, math.MaxUint64)
		return
	}
	hashUint(h, uint64(len(b)))
	h.Write(b)
}

func hashUint(h *bufio.Writer, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	h.Write(b[:])
}

// kept returns find(), a place in host h's value that depends on that
// host alone (what of its tree explains a value, named by what and arg),
// kept in the cache with the others found in that host (see
// keptOrigins): so that a source map that places a value at another host
// (a fleet-wide file's, or a fleet-pass value's provider) does not merge
// that host's tree on every run.
func (l *locator) kept(h *Host, what, arg string, find func() emit.Origin) emit.Origin {
	ho := l.f.kept.of(l.f, h)
	if ho == nil {
		return find()
	}
	k := what + "\x00" + arg
	ho.mu.Lock()
	o, ok := ho.m[k]
	ho.mu.Unlock()
	if ok {
		return o
	}
	o = find()
	ho.mu.Lock()
	ho.m[k], ho.dirty = o, true
	ho.mu.Unlock()
	return o
}

// keptOrigins are the places kept found in each host's value, by host:
// read from the cache once per load, under the host's load.Host.Key
// (which its tree is made from) and the fleet's root (which places are
// relative to), and written back by flush when new ones were found.
type keptOrigins struct {
	mu     sync.Mutex
	byHost map[string]*hostOrigins
}

// hostOrigins are the places found in one host's value, by what and arg.
type hostOrigins struct {
	key   string
	mu    sync.Mutex
	m     map[string]emit.Origin
	dirty bool
}

// of returns the places of h, read from the cache the first time; nil
// without a cache or a key for h.
func (k *keptOrigins) of(f *Fleet, h *Host) *hostOrigins {
	c := f.l.Cache()
	if c == nil || h.h.Key == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if ho := k.byHost[h.Name]; ho != nil {
		return ho
	}
	ho := &hostOrigins{key: c.Key("origins", h.h.Key, []byte(f.l.ModRoot)), m: map[string]emit.Origin{}}
	if parts, ok := c.Get(ho.key); !ok || len(parts) != 1 || json.Unmarshal(parts[0], &ho.m) != nil {
		ho.m = map[string]emit.Origin{}
	}
	if k.byHost == nil {
		k.byHost = map[string]*hostOrigins{}
	}
	k.byHost[h.Name] = ho
	return ho
}

// flush keeps the places found since the hosts' were read.
func (k *keptOrigins) flush(f *Fleet) {
	c := f.l.Cache()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ho := range k.byHost {
		ho.mu.Lock()
		if ho.dirty {
			if b, err := json.Marshal(ho.m); err == nil {
				c.Put(ho.key, [][]byte{b})
			}
			ho.dirty = false
		}
		ho.mu.Unlock()
	}
}
