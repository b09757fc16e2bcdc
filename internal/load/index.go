package load

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"fleetnix.dev/fleet/internal/wire"
)

// A run that changed little reads thousands of small entries, about
// seven per host (its package entry, its record, its fleet pass, its
// checks' marks, its generation entry, its secrets' facts): for 1000
// hosts, opening and reading them was a sixth of a run that changed
// nothing. So each fleet (module root) has an index: one file holding
// the small entries (at most indexMax bytes) the last run that wrote it
// read or wrote, each under its own key, read in one piece at the start
// of a load; an entry found there is not opened. A run rewrites the
// index (atomically, as every entry) when it wrote an entry or read one
// that the index did not hold.
//
// Writing is the same in reverse: a new file is a new inode, and an
// uncached run of 1000 hosts created 8,000 of them. So while a batch is
// open (cache.batch: a load, fleet.Load's checks, a generation), a small
// entry is put in the index alone, and the index is written when the
// last batch closes, keeping some of the last index's entries the run
// did not use (see kept). Until then an entry written is not held in
// memory but appended to a spill file (spill), which the index is
// written from: the index of 10,000 hosts is 160 MB.
//
// The index never serves what an entry's own file would not: most
// entries are the result of what their key hashes, the same whoever
// writes them; the others (a host's record, a generation entry, the flake,
// the places found in a host's value) are checked against the fleet as
// it is when read, and an old one found in the index only costs the work
// it would have saved. The tree's manifest, which each run replaces, is
// not indexed (noIndex). A damaged index (its checksum) is ignored.

// indexVersion starts an index file.
const indexVersion = "fleet-index-1\n"

// indexMax is the size of the largest entry an index holds.
const indexMax = 16 << 10

// retainMax bounds the bytes of entries a new index keeps from the last
// without this run using them: the index is read whole by every run.
const retainMax = 64 << 20

// noIndex are the kinds of entries an index does not hold.
var noIndex = []string{"tree-manifest-"}

// An index is the index of one load: the entries the last run's held,
// and those this run used.
type index struct {
	file  string
	ready chan struct{} // closed once old is read
	old   map[string][]byte
	mod   time.Time

	mu    sync.Mutex
	used  map[string]usedEntry
	dirty bool
	spill *spill
	// nospill is set once a spill file could not be made or written:
	// entries are then held in memory.
	nospill bool
}

// A usedEntry is an entry this run used: in memory (b, a slice of the
// last index or what was read), or, with b nil, at off in the spill file,
// n bytes whose CRC-32C is sum.
type usedEntry struct {
	b   []byte
	off int64
	n   int
	sum uint32
}

// size returns the entry's size in bytes.
func (e usedEntry) size() int {
	if e.b != nil {
		return len(e.b)
	}
	return e.n
}

// useIndex reads, on another goroutine, the index of the fleet at root,
// which get looks in first.
func (c *cache) useIndex(root string) {
	if c == nil {
		return
	}
	key := c.key("index", []byte(root))
	ix := &index{file: c.path(key), ready: make(chan struct{}), used: map[string]usedEntry{}}
	c.index = ix
	go func() {
		defer close(ix.ready)
		b, mod, err := readFile(ix.file)
		if err != nil {
			return
		}
		ix.old, ix.mod = decodeIndex(b), mod
	}()
}

// lookup returns the entry key as the index holds it: as this run put
// it (see cache.batch), else as the last run left it.
func (ix *index) lookup(key string) ([]byte, bool) {
	if ix == nil {
		return nil, false
	}
	ix.mu.Lock()
	e, ok := ix.used[key]
	var sp *spill
	if ok && e.b == nil {
		sp = ix.spill
		if sp.flush() != nil {
			ix.nospill = true
			ok = false
		}
	}
	ix.mu.Unlock()
	if ok && e.b == nil {
		// A damaged entry is not served: the work is done again.
		return sp.read(e, nil)
	}
	if ok {
		return e.b, true
	}
	<-ix.ready
	b, ok := ix.old[key]
	return b, ok
}

// holds reports whether the index can hold the entry key, encoded as b.
func (ix *index) holds(key string, b []byte) bool {
	if ix == nil || len(b) > indexMax {
		return false
	}
	return indexed(key)
}

// indexed reports whether entries under key may be indexed (noIndex).
func indexed(key string) bool {
	for _, k := range noIndex {
		if strings.HasPrefix(key, k) {
			return false
		}
	}
	return true
}

// use records that this run read (written false) or wrote the entry key,
// encoded as b (nil: written, too large for the index, to its own file
// alone); fromIndex when it was read from the index.
func (ix *index) use(key string, b []byte, written, fromIndex bool) {
	if ix == nil {
		return
	}
	if !indexed(key) {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if written || !fromIndex {
		// A written entry is indexed anew, or, too large, no longer.
		ix.dirty = true
	}
	if b == nil || len(b) > indexMax {
		delete(ix.used, key)
		return
	}
	if e, ok := ix.used[key]; ok && !written && e.b == nil {
		return // read back from the spill file, where it stays
	}
	if fromIndex && !written {
		// A slice of the last index, held anyway.
		ix.used[key] = usedEntry{b: b}
		return
	}
	ix.used[key] = ix.spilled(b)
}

// spilled returns the entry b as appended to the spill file, made on
// first use; b itself when there is no spill file.
func (ix *index) spilled(b []byte) usedEntry {
	if ix.nospill {
		return usedEntry{b: b}
	}
	if ix.spill == nil {
		if ix.spill = newSpill(filepath.Dir(filepath.Dir(ix.file))); ix.spill == nil {
			ix.nospill = true
			return usedEntry{b: b}
		}
	}
	e, err := ix.spill.add(b)
	if err != nil {
		ix.nospill = true
		return usedEntry{b: b}
	}
	return e
}

// write keeps the index when this run changed it, else marks it used,
// coarsely, so trimming keeps it.
func (c *cache) writeIndex() {
	if c == nil || c.index == nil {
		return
	}
	ix := c.index
	<-ix.ready
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		if ix.old != nil && time.Since(ix.mod) > time.Hour {
			now := time.Now()
			os.Chtimes(ix.file, now, now)
		}
		return
	}
	if os.MkdirAll(filepath.Dir(ix.file), 0o755) != nil {
		return
	}
	if ix.spill.flush() != nil {
		ix.nospill = true
	}
	var buf []byte
	entry := func(k string) ([]byte, bool) {
		if e, ok := ix.used[k]; ok {
			if e.b != nil {
				return e.b, true
			}
			var ok bool
			buf, ok = ix.spill.read(e, buf)
			return buf, ok
		}
		b, ok := ix.old[k]
		return b, ok
	}
	ks := ix.kept()
	writeAtomic(ix.file, func(w io.Writer) error {
		sum, err := writeIndex(w, ks, entry)
		if err != nil {
			return err
		}
		_, err = w.(io.WriterAt).WriteAt(binary.BigEndian.AppendUint32(nil, sum), int64(len(indexVersion)))
		return err
	})
	ix.dirty = false
}

// kept returns the keys of the entries a new index holds, in order:
// those this run used, and, up to as many bytes again (at most
// retainMax), those of the last index it did not use (in the order of
// their keys), which may exist nowhere else: a run of another state of
// the fleet (another branch checked out) does not drop every entry of
// the last.
func (ix *index) kept() []string {
	size := 0
	ks := make([]string, 0, len(ix.used))
	for k, e := range ix.used {
		size += len(k) + e.size()
		ks = append(ks, k)
	}
	budget := min(size, retainMax)
	for _, k := range keys(ix.old) {
		if _, ok := ix.used[k]; ok {
			continue
		}
		n := len(k) + len(ix.old[k])
		if n > budget {
			continue
		}
		budget -= n
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// encodeIndex lays out an index: its version, the CRC-32C of the rest,
// then each key and entry, in the order of the keys.
func encodeIndex(m map[string][]byte) []byte {
	var b bytes.Buffer
	sum, _ := writeIndex(&b, keys(m), func(k string) ([]byte, bool) { return m[k], true })
	out := b.Bytes()
	binary.BigEndian.PutUint32(out[len(indexVersion):], sum)
	return out
}

// writeIndex writes what encodeIndex returns to w, for the keys ks (in
// order) and the entries entry gives (those it has not are left out),
// without holding it whole: the index of 10,000 hosts is 160 MB. In the
// place of the CRC it writes zeros, and returns the CRC, for the caller
// to write there. entry's bytes are not used after its next call.
func writeIndex(w io.Writer, ks []string, entry func(string) ([]byte, bool)) (uint32, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(indexVersion)
	bw.Write(make([]byte, 4))
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	var head []byte
	for _, k := range ks {
		b, ok := entry(k)
		if !ok {
			continue
		}
		head = wire.AppendString(head[:0], k)
		head = wire.AppendUint(head, uint64(len(b)))
		out.Write(head)
		if _, err := out.Write(b); err != nil {
			return 0, err
		}
	}
	return crc.Sum32(), bw.Flush()
}

// A spill holds the entries a run wrote while it has not written them
// in the index: appended to an unnamed file (removed as soon as it is
// made, so no run, even killed, leaves one behind), each with its CRC,
// and read back when the index is written or the entry is asked for
// again. An entry read back damaged is not served: its work is done
// again, and it is left out of the index.
type spill struct {
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes appended, buffered included
}

// newSpill returns a spill file in dir, nil when none can be made or its
// name cannot be removed while it is open (then entries stay in memory).
func newSpill(dir string) *spill {
	if os.MkdirAll(dir, 0o755) != nil {
		return nil
	}
	f, err := os.CreateTemp(dir, ".tmp-spill-*")
	if err != nil {
		return nil
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 256<<10)}
}

// add appends b and returns where it is.
func (s *spill) add(b []byte) (usedEntry, error) {
	if _, err := s.w.Write(b); err != nil {
		return usedEntry{}, err
	}
	e := usedEntry{off: s.size, n: len(b), sum: crc32.Checksum(b, castagnoli)}
	s.size += int64(len(b))
	return e, nil
}

// flush writes what is buffered, so that read finds it.
func (s *spill) flush() error {
	if s == nil {
		return nil
	}
	return s.w.Flush()
}

// read returns the entry e, in buf when it has room, and false when it
// cannot be read or is damaged. The entry must have been flushed.
func (s *spill) read(e usedEntry, buf []byte) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	if cap(buf) < e.n {
		buf = make([]byte, e.n)
	}
	buf = buf[:e.n]
	if _, err := s.f.ReadAt(buf, e.off); err != nil || crc32.Checksum(buf, castagnoli) != e.sum {
		return nil, false
	}
	return buf, true
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeIndex reads what encodeIndex wrote; nil for anything else. The
// entries are slices of b.
func decodeIndex(b []byte) map[string][]byte {
	if !bytes.HasPrefix(b, []byte(indexVersion)) || len(b) < len(indexVersion)+4 {
		return nil
	}
	b = b[len(indexVersion):]
	sum, body := b[:4], b[4:]
	if binary.BigEndian.Uint32(sum) != crc32.Checksum(body, castagnoli) {
		return nil
	}
	m := map[string][]byte{}
	r := wire.NewReader(body)
	for r.Len() > 0 {
		k, v := r.Bytes(), r.Bytes()
		if r.Bad() {
			return nil
		}
		m[string(k)] = v
	}
	return m
}

// Entries returns the entries kept in the cache directory dir, by key,
// whether in a file of their own or in a fleet's index (an entry in both
// is given as its file has it), for looking into a cache.
func Entries(dir string) (map[string][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "??", "*"))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range names {
		name := filepath.Base(p)
		if strings.HasPrefix(name, ".tmp-") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(name, "index-") {
			out[name] = b
			continue
		}
		for k, v := range decodeIndex(b) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out, nil
}
