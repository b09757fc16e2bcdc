package fleet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"fleetnix.dev/fleet/internal/emit"
)

// Generation streams: each host's files go to a fileSink as soon as they
// are made, and its part of the source map to a spool, so that what a
// generation holds follows the hosts in flight, not the fleet.

// A fileSink takes the generated files. Its methods may be called from
// several goroutines at once.
type fileSink interface {
	// put takes a file, its path relative to the output directory.
	put(path string, data []byte) error
	// putStream takes a file that write writes (the source map).
	putStream(path string, write func(io.Writer) error) error
}

// A memSink keeps the files in memory.
type memSink struct {
	mu    sync.Mutex
	files []emit.File
}

func (m *memSink) put(path string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files = append(m.files, emit.File{Path: path, Data: data})
	return nil
}

func (m *memSink) putStream(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	return m.put(path, b.Bytes())
}

// sorted returns the files sorted by path.
func (m *memSink) sorted() []emit.File {
	sort.Slice(m.files, func(i, j int) bool { return m.files[i].Path < m.files[j].Path })
	return m.files
}

// A treeSink writes a new tree beside the old one, outDir: a file whose
// bytes differ from the old tree's is written into the staging directory
// at once, one that does not is linked there at the end, so that it
// keeps its inode and modification time. With check set nothing is
// written. finish puts the new tree in place with one rename.
type treeSink struct {
	outDir string
	check  bool

	mu      sync.Mutex
	staging string
	gen     map[string]bool // generated files, slash paths
	keep    map[string]bool // files of the old tree kept as they are
	written []string
}

func newTreeSink(outDir string, check bool) *treeSink {
	return &treeSink{outDir: outDir, check: check, gen: map[string]bool{}, keep: map[string]bool{}}
}

// stage returns the staging directory, made on first use beside outDir.
func (t *treeSink) stage() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.staging != "" {
		return t.staging, nil
	}
	parent := filepath.Dir(t.outDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(t.outDir)+".new*")
	if err != nil {
		return "", err
	}
	t.staging = tmp
	return tmp, nil
}

// record notes a generated file and whether the old tree has it as it is.
func (t *treeSink) record(rel string, same bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen[rel] = true
	if same {
		t.keep[rel] = true
	} else {
		t.written = append(t.written, filepath.Join(t.outDir, filepath.FromSlash(rel)))
	}
}

func (t *treeSink) put(rel string, data []byte) error {
	old, err := os.ReadFile(filepath.Join(t.outDir, filepath.FromSlash(rel)))
	same := err == nil && bytes.Equal(old, data)
	t.record(rel, same)
	if same || t.check {
		return nil
	}
	dst, err := t.staged(rel)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// staged returns where the file rel goes in the staging directory, its
// directory made.
func (t *treeSink) staged(rel string) (string, error) {
	tmp, err := t.stage()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, filepath.FromSlash(rel))
	return dst, os.MkdirAll(filepath.Dir(dst), 0o755)
}

// putStream writes the file into the staging directory (or, with check,
// nowhere) while comparing it with the old tree's.
func (t *treeSink) putStream(rel string, write func(io.Writer) error) error {
	cmp := &compareWriter{}
	if old, err := os.Open(filepath.Join(t.outDir, filepath.FromSlash(rel))); err == nil {
		defer old.Close()
		cmp.old = bufio.NewReaderSize(old, 256<<10)
	} else {
		cmp.differ = true
	}
	var w io.Writer = cmp
	var f *os.File
	if !t.check {
		dst, err := t.staged(rel)
		if err != nil {
			return err
		}
		if f, err = os.Create(dst); err != nil {
			return err
		}
		w = io.MultiWriter(f, cmp)
	}
	err := write(w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	same := cmp.same()
	if same && f != nil {
		os.Remove(f.Name())
	}
	t.record(rel, same)
	return nil
}

// A compareWriter compares what is written with old.
type compareWriter struct {
	old    *bufio.Reader
	differ bool
	buf    []byte
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if c.differ {
		return len(p), nil
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	b := c.buf[:len(p)]
	if _, err := io.ReadFull(c.old, b); err != nil || !bytes.Equal(b, p) {
		c.differ = true
	}
	return len(p), nil
}

// same reports whether what was written is the old file.
func (c *compareWriter) same() bool {
	if c.differ {
		return false
	}
	_, err := c.old.ReadByte()
	return err == io.EOF
}

// finish lists what changed and, unless check is set, puts the new tree
// in place: the old tree's generated files that no longer belong to the
// fleet go, the user's own stay, unchanged files are linked, and the
// staging directory replaces outDir with one rename (an atomic exchange
// where the system has one).
func (t *treeSink) finish() (res *GenerateResult, err error) {
	defer func() {
		if (err != nil || t.check) && t.staging != "" {
			os.RemoveAll(t.staging)
		}
	}()
	res = &GenerateResult{OutDir: t.outDir}
	err = filepath.WalkDir(t.outDir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == t.outDir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(t.outDir, path)
		rel = filepath.ToSlash(rel)
		if t.gen[rel] {
			return nil
		}
		gen, err := isGenerated(path)
		if err != nil {
			return err
		}
		if gen {
			res.Removed = append(res.Removed, path)
		} else {
			t.keep[rel] = true // the user's own file
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Written = t.written
	sort.Strings(res.Written)
	sort.Strings(res.Removed)
	if t.check {
		return res, nil
	}
	if !res.Stale() {
		if t.staging != "" {
			os.RemoveAll(t.staging)
		}
		return res, nil
	}
	tmp, err := t.stage()
	if err != nil {
		return nil, err
	}
	for rel := range t.keep {
		dst, err := t.staged(rel)
		if err != nil {
			return nil, err
		}
		if err := os.Link(filepath.Join(t.outDir, filepath.FromSlash(rel)), dst); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(t.outDir); errors.Is(err, fs.ErrNotExist) {
		return res, os.Rename(tmp, t.outDir)
	}
	if err := exchange(tmp, t.outDir); err != nil {
		return nil, err
	}
	// tmp now holds the old tree.
	return res, os.RemoveAll(tmp)
}

// A spool keeps the source map parts of a generation, encoded, in order:
// in memory for a small fleet, in a temporary file for a large one. It is
// safe for concurrent use.
type spool struct {
	mu    sync.Mutex
	parts [][]byte
	file  *os.File
	at    [][2]int64 // offset and length of each part in file
	size  int64
}

// spoolOnDisk is how many parts a spool keeps in memory.
var spoolOnDisk = 256

func newSpool(n int) (*spool, error) {
	s := &spool{}
	if n <= spoolOnDisk {
		s.parts = make([][]byte, n)
		return s, nil
	}
	f, err := os.CreateTemp("", "fleetgen-sourcemap-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // gone with the file descriptor
	s.file, s.at = f, make([][2]int64, n)
	return s, nil
}

// put keeps part i, encoded (MapPart.MarshalBinary).
func (s *spool) put(i int, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		s.parts[i] = b
		return nil
	}
	if _, err := s.file.WriteAt(b, s.size); err != nil {
		return err
	}
	s.at[i] = [2]int64{s.size, int64(len(b))}
	s.size += int64(len(b))
	return nil
}

// part returns part i, or nil when there is none.
func (s *spool) part(i int) (*emit.MapPart, error) {
	var b []byte
	if s.file == nil {
		b = s.parts[i]
	} else if at := s.at[i]; at[1] > 0 {
		b = make([]byte, at[1])
		if _, err := s.file.ReadAt(b, at[0]); err != nil {
			return nil, err
		}
	}
	if b == nil {
		return nil, nil
	}
	var p emit.MapPart
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}
