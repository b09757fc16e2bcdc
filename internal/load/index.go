package load

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
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
// did not use (see kept).
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
	used  map[string][]byte
	dirty bool
}

// useIndex reads, on another goroutine, the index of the fleet at root,
// which get looks in first.
func (c *cache) useIndex(root string) {
	if c == nil {
		return
	}
	key := c.key("index", []byte(root))
	ix := &index{file: c.path(key), ready: make(chan struct{}), used: map[string][]byte{}}
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
	b, ok := ix.used[key]
	ix.mu.Unlock()
	if ok {
		return b, true
	}
	<-ix.ready
	b, ok = ix.old[key]
	return b, ok
}

// holds reports whether the index can hold the entry key, encoded as b.
func (ix *index) holds(key string, b []byte) bool {
	if ix == nil || len(b) > indexMax {
		return false
	}
	for _, k := range noIndex {
		if strings.HasPrefix(key, k) {
			return false
		}
	}
	return true
}

// use records that this run read (written false) or wrote the entry key,
// encoded as b; fromIndex when it was read from the index.
func (ix *index) use(key string, b []byte, written, fromIndex bool) {
	if ix == nil {
		return
	}
	for _, k := range noIndex {
		if strings.HasPrefix(key, k) {
			return
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if written || !fromIndex {
		// A written entry is indexed anew, or, too large, no longer.
		ix.dirty = true
	}
	if len(b) > indexMax {
		delete(ix.used, key)
		return
	}
	ix.used[key] = b
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
	kept := ix.kept()
	writeAtomic(ix.file, func(w io.Writer) error { return writeIndex(w, kept) })
	ix.dirty = false
}

// kept returns the entries a new index holds: those this run used, and,
// up to as many bytes again (at most retainMax), those of the last index
// it did not use (in the order of their keys), which may exist nowhere
// else: a run of another state of the fleet (another branch checked out)
// does not drop every entry of the last.
func (ix *index) kept() map[string][]byte {
	size := 0
	for k, b := range ix.used {
		size += len(k) + len(b)
	}
	m := make(map[string][]byte, len(ix.used))
	for k, b := range ix.used {
		m[k] = b
	}
	budget := min(size, retainMax)
	for _, k := range keys(ix.old) {
		if _, ok := m[k]; ok {
			continue
		}
		n := len(k) + len(ix.old[k])
		if n > budget {
			continue
		}
		budget -= n
		m[k] = ix.old[k]
	}
	return m
}

// encodeIndex lays out an index: its version, the CRC-32C of the rest,
// then each key and entry.
func encodeIndex(m map[string][]byte) []byte {
	var b bytes.Buffer
	writeIndex(&b, m)
	return b.Bytes()
}

// writeIndex writes what encodeIndex returns to w, without holding it
// whole: the index of 10,000 hosts is 160 MB. The CRC is computed first,
// in a pass over the entries that writes nothing.
func writeIndex(w io.Writer, m map[string][]byte) error {
	ks := keys(m)
	each := func(w io.Writer) error {
		var head []byte
		for _, k := range ks {
			head = wire.AppendString(head[:0], k)
			head = wire.AppendUint(head, uint64(len(m[k])))
			if _, err := w.Write(head); err != nil {
				return err
			}
			if _, err := w.Write(m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	crc := crc32.New(castagnoli)
	each(crc)
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(indexVersion)
	bw.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
	if err := each(bw); err != nil {
		return err
	}
	return bw.Flush()
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
