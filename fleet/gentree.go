package fleet

import (
	"bytes"
	"io"
	"os"
	"sort"
	"sync"

	"fleetnix.dev/fleet/internal/emit"
)

// Each host's files go to a fileSink as soon as they are made, and its
// part of the source map to a spool, so that what a generation holds
// follows the hosts in flight, not the fleet. Generate gives them to a
// treeSink (tree.go), which stages them beside the output directory;
// files gives them to a memSink, for what reads them in memory.

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

// A spool keeps the source map parts of a generation, encoded, in order:
// in memory for a small fleet, in a temporary file for a large one. It is
// safe for concurrent use.
type spool struct {
	mu    sync.Mutex
	parts [][]byte
	file  *os.File
	at    [][2]int64 // offset and length of each part in file
	size  int64
	buf   []byte // the last part read from file
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

// part returns part i, encoded, or nil when there is none. What it
// returns is valid until the next call: a part on disk is read into the
// same buffer each time (WriteSourceMap reads each part a few times).
func (s *spool) part(i int) ([]byte, error) {
	if s.file == nil {
		return s.parts[i], nil
	}
	at := s.at[i]
	if at[1] == 0 {
		return nil, nil
	}
	if int64(cap(s.buf)) < at[1] {
		s.buf = make([]byte, at[1])
	}
	b := s.buf[:at[1]]
	if _, err := s.file.ReadAt(b, at[0]); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}
