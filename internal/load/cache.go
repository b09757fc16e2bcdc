package load

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A cache keeps the results of the per-host evaluations of earlier loads
// (unification with #Host, the fleet pass), each under the hash of all it
// depends on: the program that computed it, the schema and the host's
// merged data. CUE evaluation is deterministic, so a result found under
// its key is the one evaluation would give; a fleet where few hosts
// changed since the last run evaluates only those. Failed evaluations are
// not kept: their errors are computed again, with their positions.
//
// Entries not used for five days are removed, as Go's build cache does.
// All methods of a nil *cache do nothing.
type cache struct {
	dir string
	// salt is the hash of what every entry depends on: the program and
	// the schema.
	salt [sha256.Size]byte
	// index holds the small entries the last run used (see useIndex).
	index *index
	// batches counts the batches open (see batch): while one is, a small
	// entry is kept in the index alone.
	batches atomic.Int32
}

// Cache entries unused for trimAge are removed, at most once per
// trimInterval.
const (
	trimAge      = 5 * 24 * time.Hour
	trimInterval = 24 * time.Hour
)

// openCache returns the cache in dir for results computed by this
// program with schema, or nil when dir is empty or cannot be used: the
// cache only saves time, so a load goes on without it.
func openCache(dir string, schema fs.FS) *cache {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	prog, err := programHash(dir)
	if err != nil {
		return nil
	}
	h := sha256.New()
	h.Write(prog)
	names, err := fs.Glob(schema, "*.cue")
	if err != nil {
		return nil
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := fs.ReadFile(schema, name)
		if err != nil {
			return nil
		}
		writeString(h, name)
		writeString(h, string(b))
	}
	c := &cache{dir: dir}
	h.Sum(c.salt[:0])
	c.trim(time.Now())
	return c
}

// programHash returns the hash of the running executable, so that a
// changed program never reads what another version computed. It is kept
// in dir by the executable's path, size and modification time, so the
// executable is read once per build.
func programHash(dir string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", exe, fi.Size(), fi.ModTime().UnixNano()))
	memo := filepath.Join(dir, "exe-"+hex.EncodeToString(id[:8]))
	if b, err := os.ReadFile(memo); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	sum := h.Sum(nil)
	writeFileAtomic(memo, sum)
	return sum, nil
}

// key returns the key of a result of the given kind computed from parts.
func (c *cache) key(kind string, parts ...[]byte) string {
	if c == nil {
		return ""
	}
	h := sha256.New()
	h.Write(c.salt[:])
	writeString(h, kind)
	for _, p := range parts {
		writeBytes(h, p)
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil))
}

func (c *cache) path(key string) string {
	_, sum, _ := strings.Cut(key, "-")
	return filepath.Join(c.dir, sum[:2], key)
}

// A cacheable is a result as the cache keeps it: a list of byte strings,
// each possibly nil.
type cacheable interface {
	parts() [][]byte
	setParts([][]byte) bool
}

// get reads the entry key into e and reports whether there was one.
func (c *cache) get(key string, e cacheable) bool {
	if c == nil {
		return false
	}
	if b, ok := c.index.lookup(key); ok {
		if parts, ok := decodeParts(b); ok && e.setParts(parts) {
			c.index.use(key, b, false, true)
			return true
		}
	}
	p := c.path(key)
	b, mod, err := readFile(p)
	if err != nil {
		return false
	}
	parts, ok := decodeParts(b)
	if !ok || !e.setParts(parts) {
		return false
	}
	c.index.use(key, b, false, false)
	// Mark the entry used, coarsely, so trimming keeps it.
	if time.Since(mod) > time.Hour {
		now := time.Now()
		os.Chtimes(p, now, now)
	}
	return true
}

// readFile returns the contents of the file name and when it was last
// modified, from one open file (a load reads thousands of entries).
func readFile(name string) ([]byte, time.Time, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, time.Time{}, err
	}
	return b, fi.ModTime(), nil
}

// put stores e as the entry key. A failure is ignored: the next load
// computes the result again.
func (c *cache) put(key string, e cacheable) {
	if c == nil {
		return
	}
	parts := e.parts()
	// An entry too large for the index (b nil) is streamed into its
	// file, never held whole: a generation's files are most of what a
	// run puts.
	var b []byte
	if partsSize(parts) <= indexMax {
		b = encodeParts(parts)
		if c.batches.Load() > 0 && c.index.holds(key, b) {
			c.index.use(key, b, true, false)
			return
		}
	}
	p := c.path(key)
	if os.MkdirAll(filepath.Dir(p), 0o755) != nil {
		return
	}
	if b == nil {
		writeAtomic(p, func(w io.Writer) error { return writeParts(w, parts) })
	} else {
		writeFileAtomic(p, b)
	}
	c.index.use(key, b, true, false)
}

// batch opens a batch of puts: until the function it returns is called,
// an entry small enough for the index is kept only there (a file of its
// own is a new inode: creating thousands of them was a quarter of an
// uncached run of 1000 hosts), and the function writes the index when
// it closes the last batch open. A batch is closed on every path of the
// run that opened it, so the entries reach the disk whenever the run ends
// normally.
func (c *cache) batch() func() {
	if c == nil || c.index == nil {
		return func() {}
	}
	c.batches.Add(1)
	return func() {
		if c.batches.Add(-1) == 0 {
			c.writeIndex()
		}
	}
}

// A mark is an entry with no parts: a result that is only a fact.
type mark struct{}

func (mark) parts() [][]byte          { return nil }
func (mark) setParts(p [][]byte) bool { return len(p) == 0 }

// Known reports whether an earlier load recorded, with Remember, a result
// of kind computed from parts: work the layers above need not do again
// when its inputs did not change (a host whose generated modules were
// checked and found clean). Without a cache it is always false.
func (f *Fleet) Known(kind string, parts ...[]byte) bool {
	return f.cache.get(f.cache.key(kind, parts...), mark{})
}

// Remember records the result of kind computed from parts, for Known;
// without a cache it does nothing. The entry depends on the program and
// the schema, as every entry does.
func (f *Fleet) Remember(kind string, parts ...[]byte) {
	f.cache.put(f.cache.key(kind, parts...), mark{})
}

// entryMagic starts every entry; a file without it is not one.
const entryMagic = "fleet-cache-1\n"

// encodeParts writes parts as a count and, for each, a presence byte and
// a length-prefixed string, into one allocation of the entry's size.
func encodeParts(parts [][]byte) []byte {
	b := make([]byte, 0, partsSize(parts))
	b = append(b, entryMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(parts)))
	for _, p := range parts {
		b = appendPartHead(b, p)
		b = append(b, p...)
	}
	return b
}

// partsSize returns the size of what encodeParts writes for parts.
func partsSize(parts [][]byte) int {
	n := len(entryMagic) + 8
	for _, p := range parts {
		n++
		if p != nil {
			n += 8 + len(p)
		}
	}
	return n
}

// appendPartHead appends what comes before the part p: its presence
// byte, and its length when present.
func appendPartHead(b, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	return binary.LittleEndian.AppendUint64(append(b, 1), uint64(len(p)))
}

// writeParts writes what encodeParts returns to w, without copying the
// parts: small heads are buffered, and a part larger than the buffer
// goes to w as it is.
func writeParts(w io.Writer, parts [][]byte) error {
	bw := partWriters.Get().(*bufio.Writer)
	defer partWriters.Put(bw)
	bw.Reset(w)
	defer bw.Reset(nil)
	var head [9]byte
	bw.WriteString(entryMagic)
	bw.Write(binary.LittleEndian.AppendUint64(head[:0], uint64(len(parts))))
	for _, p := range parts {
		bw.Write(appendPartHead(head[:0], p))
		if _, err := bw.Write(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

var partWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// decodeParts reads what encodeParts wrote; false for anything else.
func decodeParts(b []byte) ([][]byte, bool) {
	if !bytes.HasPrefix(b, []byte(entryMagic)) {
		return nil, false
	}
	b = b[len(entryMagic):]
	u64 := func() (uint64, bool) {
		if len(b) < 8 {
			return 0, false
		}
		n := binary.LittleEndian.Uint64(b)
		b = b[8:]
		return n, true
	}
	n, ok := u64()
	if !ok || n > uint64(len(b)) {
		return nil, false
	}
	parts := make([][]byte, 0, n)
	for range n {
		if len(b) == 0 {
			return nil, false
		}
		present := b[0]
		b = b[1:]
		if present == 0 {
			parts = append(parts, nil)
			continue
		}
		l, ok := u64()
		if !ok || l > uint64(len(b)) {
			return nil, false
		}
		parts = append(parts, b[:l:l])
		b = b[l:]
	}
	return parts, len(b) == 0
}

// trim removes the entries unused for trimAge, at most once per
// trimInterval.
func (c *cache) trim(now time.Time) {
	stamp := filepath.Join(c.dir, "trim.txt")
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < trimInterval {
		return
	}
	writeFileAtomic(stamp, fmt.Appendf(nil, "%d\n", now.Unix()))
	subs, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	for _, s := range subs {
		if !s.IsDir() || len(s.Name()) != 2 {
			if strings.HasPrefix(s.Name(), "exe-") {
				if fi, err := s.Info(); err == nil && now.Sub(fi.ModTime()) > trimAge {
					os.Remove(filepath.Join(c.dir, s.Name()))
				}
			}
			continue
		}
		ents, err := os.ReadDir(filepath.Join(c.dir, s.Name()))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > trimAge {
				os.Remove(filepath.Join(c.dir, s.Name(), e.Name()))
			}
		}
	}
}

// writeFileAtomic writes b to name through a temporary file, so a reader
// never sees half an entry.
func writeFileAtomic(name string, b []byte) {
	writeAtomic(name, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeAtomic is writeFileAtomic for the contents write writes.
func writeAtomic(name string, write func(io.Writer) error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return
	}
	werr := write(f)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), name) != nil {
		os.Remove(f.Name())
	}
}

// writeString writes s with its length, so that consecutive parts cannot
// run into each other.
func writeString(w io.Writer, s string) {
	writeUint64(w, uint64(len(s)))
	io.WriteString(w, s)
}

// writeBytes is writeString for a byte slice, without copying it.
func writeBytes(w io.Writer, b []byte) {
	writeUint64(w, uint64(len(b)))
	w.Write(b)
}

// writeUint64 writes n in 8 bytes.
func writeUint64(w io.Writer, n uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	w.Write(b[:])
}

// canonical encodes merged data (what merge.Node.Data returns) so that
// two values encode alike exactly when CUE sees the same value: map keys
// sorted, and every scalar tagged with its type (1 and 1.0 differ). It
// reports false for data of another type, which is then not cached.
func canonical(x any) ([]byte, bool) {
	var b bytes.Buffer
	ok := encodeCanonical(&b, x)
	return b.Bytes(), ok
}

func encodeCanonical(b *bytes.Buffer, x any) bool {
	switch x := x.(type) {
	case nil:
		b.WriteByte('n')
	case bool:
		if x {
			b.WriteByte('t')
		} else {
			b.WriteByte('f')
		}
	case string:
		b.WriteByte('s')
		writeString(b, x)
	case int64:
		b.WriteByte('i')
		writeUint64(b, uint64(x))
	case *big.Int:
		b.WriteByte('I')
		writeString(b, x.String())
	case float64:
		b.WriteByte('d')
		writeUint64(b, math.Float64bits(x))
	case []any:
		b.WriteByte('[')
		writeUint64(b, uint64(len(x)))
		for _, e := range x {
			if !encodeCanonical(b, e) {
				return false
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		writeUint64(b, uint64(len(keys)))
		for _, k := range keys {
			writeString(b, k)
			if !encodeCanonical(b, x[k]) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// A Cache is the cache a fleet was loaded with, for results computed
// from what the load gives (the generated files of a host), kept as a
// list of byte strings under a key of everything they depend on. All
// methods of a nil *Cache do nothing: Get finds nothing.
type Cache struct {
	c *cache
}

// Cache returns the cache the fleet was loaded with, nil without one.
func (f *Fleet) Cache() *Cache {
	if f.cache == nil {
		return nil
	}
	return &Cache{f.cache}
}

// Key returns the key of a result of the given kind computed from parts,
// which include this program and the schema.
func (c *Cache) Key(kind string, parts ...[]byte) string {
	if c == nil {
		return ""
	}
	return c.c.key(kind, parts...)
}

// Get returns the result kept under key.
func (c *Cache) Get(key string) ([][]byte, bool) {
	if c == nil || key == "" {
		return nil, false
	}
	var r rawEntry
	if !c.c.get(key, &r) {
		return nil, false
	}
	return r, true
}

// Batch opens a batch of puts: until the function it returns is called,
// small entries are kept in the fleet's index alone, which that function
// writes when it closes the last batch open. Call it on every path, as
// with a lock: the entries of a batch never closed are lost (the cache
// only saves time).
func (c *Cache) Batch() func() {
	if c == nil {
		return func() {}
	}
	return c.c.batch()
}

// Put keeps parts under key; a failure is ignored.
func (c *Cache) Put(key string, parts [][]byte) {
	if c == nil || key == "" {
		return
	}
	r := rawEntry(parts)
	c.c.put(key, &r)
}

// A rawEntry is an entry kept as it is.
type rawEntry [][]byte

func (r rawEntry) parts() [][]byte { return r }

func (r *rawEntry) setParts(p [][]byte) bool {
	*r = p
	return true
}
