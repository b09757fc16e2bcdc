package fleet

import (
	"bytes"
	"io"
	"sort"
	"sync"

	"fleetnix.dev/fleet/internal/emit"
)

// Each host's files, its source map among them, go to a fileSink as soon
// as they are made, so that what a generation holds follows the hosts in
// flight, not the fleet. Generate gives them to a treeSink (tree.go),
// which stages them beside the output directory; files gives them to a
// memSink, for what reads them in memory.

// A fileSink takes the generated files. Its methods may be called from
// several goroutines at once.
type fileSink interface {
	// put takes a file, its path relative to the output directory.
	put(path string, data []byte) error
	// putStream takes a file that write writes (the fleet's source map).
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
