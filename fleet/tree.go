package fleet

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/internal/wire"
)

// Generate writes the tree through a treeSink: each file goes to a
// staging directory beside the output directory as soon as it is made
// (or, unchanged, is only noted, to be linked there at the end), with the
// checks that it is fleetgen's to replace. Once every file is made, the
// rest of the old tree is looked at (files no longer generated, the
// user's own, entries in the way of a generated directory), and only when
// nothing is wrong does the staged tree replace the old one, in one
// rename. So the generated tree is never held in memory, and an error
// leaves the old tree as it was and nothing beside it.
//
// With the fleet's cache, a manifest of the files the last run left (each
// one's device, inode, size, modification and change times, and content
// hash; see record) tells an unchanged file from a changed one without
// reading it.

// notOurs is the fix of a problem with an entry in the way.
const notOurs = "move it away (or delete it) and run fleetgen again, or choose another output directory (settings.output or -o)"

// treeProblem is a problem with an entry of the output tree, which
// Generate reports instead of touching it.
func treeProblem(path, summary, detail string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Error, Range: diag.Range{File: path}, Summary: summary, Detail: detail}
}

// checkOutDir refuses an output directory Generate must not replace as a
// whole: the module root, anything under cue.mod, a path through a
// symbolic link (which could lead out of the module), or a file.
func checkOutDir(root, out string) error {
	rel, err := filepath.Rel(root, out)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("output directory %s is outside the fleet's module %s", out, root)
	}
	const fix = "fleetgen replaces the output directory as a whole; give it one of its own (settings.output or -o), such as nix"
	if rel == "." {
		return fromDiag(diag.List{treeProblem(out, "the output directory is the fleet's module root", fix)})
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if parts[0] == "cue.mod" {
		return fromDiag(diag.List{treeProblem(out, "the output directory is inside cue.mod, the CUE module's own directory", fix)})
	}
	dir := root
	for _, p := range parts {
		dir = filepath.Join(dir, p)
		st, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			return fromDiag(diag.List{treeProblem(dir, "the output directory is reached through a symbolic link",
				"fleetgen writes only into real directories inside the module, so a link cannot take it elsewhere; name the directory itself")})
		case !st.IsDir():
			return fromDiag(diag.List{treeProblem(dir, "not a directory, where the output directory goes", fix)})
		}
	}
	return nil
}

// A discardSink drops the files: a generation run for its errors only.
type discardSink struct{}

func (discardSink) put(string, []byte) error { return nil }

func (discardSink) putStream(_ string, write func(io.Writer) error) error { return write(io.Discard) }

// entryKind is what an entry of the old tree is.
type entryKind uint8

const (
	kindRegular entryKind = iota
	kindDir
	kindLink
	kindOther // a FIFO, socket or device: never opened
)

// An oldEntry is an entry of the output tree as Generate found it.
type oldEntry struct {
	rel, name string // slash path in the tree ("." is the tree), base name
	kind      entryKind
	perm      fs.FileMode
	st        fileStat // a regular file's identity (st.ok)
}

// A fileStat is what identifies a regular file's contents without reading
// them: where the file is (device, inode), its size and its modification
// and change times. ok is false where the system does not say.
type fileStat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
	ok           bool
}

// sameContent reports whether b is the file a was, unchanged since: the
// same identity and times, ctime included, which the kernel sets on every
// change and no user can set back.
func (a fileStat) sameContent(b fileStat) bool { return a.ok && b.ok && a == b }

// sameButCtime reports whether b is the file a was with only its change time
// changed (as linking it elsewhere does).
func (a fileStat) sameButCtime(b fileStat) bool {
	b.ctime = a.ctime
	return a.sameContent(b)
}

// A genFile is what became of a generated file.
type genFile struct {
	// keep: the old file has the new contents and stays (linked into
	// the new tree); else the new one was staged (or, checking only,
	// would be written).
	keep bool
	hash [sha256.Size]byte
	// st is the kept file's identity when it was found equal, or the
	// staged file's once written.
	st fileStat
}

// treeReads counts the generated files of the old tree read whole to be
// compared (tests).
var treeReads atomic.Int64

// A treeSink stages a generation's files beside the output directory; see
// above. Its put and putStream may be called from several goroutines.
type treeSink struct {
	outDir string
	// check: compare only, stage nothing.
	check bool
	// The old tree, in the order of a walk, and by slash path; walkErr is
	// the walk's error, reported after the generation's own.
	walk    []*oldEntry
	old     map[string]*oldEntry
	walkErr error
	// The manifest of the last run, nil without one, and where it is kept.
	man   map[string]manifestEntry
	cache *load.Cache
	key   string

	mu       sync.Mutex
	gen      map[string]*genFile
	problems diag.List
	// stage is the staging directory, "" until the first file is staged
	// or when nothing is (noStage: checking only, the walk failed, or its
	// parent is not writable); made are its directories made so far.
	stage    string
	noStage  bool
	stageErr error
	made     map[string]bool
	// unknown: some file was not one the manifest describes unchanged,
	// so the manifest changes.
	unknown atomic.Bool
}

// newTreeSink reads the output tree outDir (its entries' metadata, no
// file's contents) and the manifest the last run left in cache, if any.
// The caller holds the lock of outDir's parent.
func newTreeSink(outDir string, check bool, cache *load.Cache) *treeSink {
	s := &treeSink{outDir: outDir, check: check, old: map[string]*oldEntry{}, gen: map[string]*genFile{}, made: map[string]bool{},
		cache: cache, noStage: check}
	s.walkErr = filepath.WalkDir(outDir, func(file string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && file == outDir {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(outDir, file)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := &oldEntry{rel: filepath.ToSlash(rel), name: d.Name(), perm: info.Mode().Perm()}
		switch {
		case d.IsDir():
			e.kind = kindDir
		case d.Type()&fs.ModeSymlink != 0:
			e.kind = kindLink
		case !d.Type().IsRegular():
			e.kind = kindOther
		default:
			e.st = statOf(info)
		}
		s.walk = append(s.walk, e)
		s.old[e.rel] = e
		if e.kind == kindDir && (d.Name() == "cue.mod" || d.Name() == ".git") {
			return fs.SkipDir
		}
		return nil
	})
	if s.walkErr != nil || writable(filepath.Dir(outDir)) != nil {
		s.noStage = true
	}
	if cache != nil {
		s.key = cache.Key("tree-manifest", []byte(outDir))
		if parts, ok := cache.Get(s.key); ok {
			s.man = decodeManifest(parts)
		}
	}
	return s
}

func (s *treeSink) abs(rel string) string { return filepath.Join(s.outDir, filepath.FromSlash(rel)) }

// problem records a problem with the entry rel.
func (s *treeSink) problem(rel, summary, detail string) {
	s.mu.Lock()
	s.problems.Add(treeProblem(s.abs(rel), summary, detail))
	s.mu.Unlock()
}

// inTheWay records the problem of an old entry that is no regular file
// where a generated file goes, and reports whether there was one.
func (s *treeSink) inTheWay(e *oldEntry) bool {
	switch e.kind {
	case kindDir:
		s.problem(e.rel, "a directory where fleetgen writes a file", notOurs)
	case kindLink:
		s.problem(e.rel, "a symbolic link where fleetgen writes", "fleetgen never writes through a link, which could lead out of the tree; "+notOurs)
	case kindOther:
		s.problem(e.rel, "not a regular file (a FIFO, socket or device) where fleetgen writes", notOurs)
	default:
		return false
	}
	return true
}

// notGenerated records the problem of a file without the header where a
// generated file goes.
func (s *treeSink) notGenerated(rel string) {
	s.problem(rel, "not written by fleetgen (its first line is not the generated header), where fleetgen writes", notOurs)
}

// known returns the last run's entry of rel when the old file is the one
// it describes, unchanged since.
func (s *treeSink) known(e *oldEntry) (manifestEntry, bool) {
	m, ok := s.man[e.rel]
	return m, ok && m.st.sameContent(e.st)
}

func (s *treeSink) done(rel string, g *genFile) {
	s.mu.Lock()
	s.gen[rel] = g
	s.mu.Unlock()
}

// keepAll takes the files, when the manifest describes each as the old
// tree has it, with the same hash (see keeper).
func (s *treeSink) keepAll(files []fileSum) bool {
	for _, f := range files {
		e := s.old[f.path]
		if e == nil || e.kind != kindRegular {
			return false
		}
		if m, ok := s.known(e); !ok || m.hash != f.sum {
			return false
		}
	}
	for _, f := range files {
		s.done(f.path, &genFile{keep: true, hash: f.sum, st: s.old[f.path].st})
	}
	return true
}

// put stages the file rel, unless the old tree has it already.
func (s *treeSink) put(rel string, data []byte) error {
	g := &genFile{}
	if s.cache != nil { // the hash is for the manifest
		g.hash = sha256.Sum256(data)
	}
	mode := fs.FileMode(0o644)
	if e := s.old[rel]; e != nil {
		if s.inTheWay(e) {
			s.done(rel, g)
			return nil
		}
		mode = e.perm
		if m, ok := s.known(e); ok {
			// Ours, as the last run left it: equal when the hashes are.
			g.keep, g.st = m.hash == g.hash, e.st
		} else {
			s.unknown.Store(true)
			same, ours, st, err := compareGenerated(s.abs(rel), data)
			if err != nil {
				return err
			}
			if !ours {
				s.notGenerated(rel)
				s.done(rel, g)
				return nil
			}
			g.keep, g.st = same, st
		}
		if g.keep {
			s.done(rel, g)
			return nil
		}
	}
	s.unknown.Store(true)
	return s.write(rel, g, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// putStream stages the file rel that write writes, unless the old tree
// has it already. When there is an old file, write first writes only into
// a hash and a comparison with it, so that an unchanged file stages
// nothing (a run that changes nothing makes no staging directory beside
// the tree); a changed one is written again, into the staging directory.
func (s *treeSink) putStream(rel string, write func(io.Writer) error) error {
	g := &genFile{}
	mode := fs.FileMode(0o644)
	hashed := false
	if e := s.old[rel]; e != nil {
		if s.inTheWay(e) {
			s.done(rel, g)
			return write(io.Discard)
		}
		mode = e.perm
		var ws []io.Writer
		var h hash.Hash
		if s.cache != nil { // the hash is for the manifest
			h = sha256.New()
			ws = append(ws, h)
		}
		m, known := s.known(e)
		var cmp *compareWriter
		if known {
			g.st = e.st
		} else {
			s.unknown.Store(true)
			f, err := openRegular(s.abs(rel))
			if err != nil {
				return err
			}
			defer f.Close()
			treeReads.Add(1)
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			cmp = &compareWriter{r: bufio.NewReaderSize(f, 256<<10), same: true}
			line, _ := cmp.r.Peek(256)
			line, _, _ = bytes.Cut(line, []byte("\n"))
			if !emit.IsGenerated(string(bytes.TrimRight(line, "\r"))) {
				s.notGenerated(rel)
				s.done(rel, g)
				return write(io.Discard)
			}
			g.st = statOf(fi)
			ws = append(ws, cmp)
		}
		if err := write(io.MultiWriter(ws...)); err != nil {
			return err
		}
		if h != nil {
			h.Sum(g.hash[:0])
			hashed = true
		}
		if known && m.hash == g.hash || cmp != nil && cmp.end() {
			// Unchanged: the old file stays.
			g.keep = true
			s.done(rel, g)
			return nil
		}
	}
	s.unknown.Store(true)
	return s.write(rel, g, mode, func(w io.Writer) error {
		if hashed || s.cache == nil {
			return write(w)
		}
		h := sha256.New()
		if err := write(io.MultiWriter(w, h)); err != nil {
			return err
		}
		h.Sum(g.hash[:0])
		return nil
	})
}

// A compareWriter compares what is written with what r reads.
type compareWriter struct {
	r    *bufio.Reader
	same bool
	buf  []byte
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if !c.same {
		return len(p), nil
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	b := c.buf[:len(p)]
	if _, err := io.ReadFull(c.r, b); err != nil || !bytes.Equal(b, p) {
		c.same = false
	}
	return len(p), nil
}

// end reports whether all that was written is all that r had.
func (c *compareWriter) end() bool {
	if !c.same {
		return false
	}
	_, err := c.r.ReadByte()
	return err == io.EOF
}

// write stages the generated file rel with mode, its contents written by
// fill, and records it as g (written). Nothing is staged when checking
// only, or when a problem means nothing will be: fill then writes
// nowhere.
func (s *treeSink) write(rel string, g *genFile, mode fs.FileMode, fill func(io.Writer) error) error {
	s.mu.Lock()
	dst, err := s.stagePath(rel)
	if err == nil && len(s.problems) > 0 {
		dst = ""
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if dst == "" {
		if err := fill(io.Discard); err != nil {
			return err
		}
		s.done(rel, g)
		return nil
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Chmod(mode) // past the umask, as before
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	g.st = statOf(fi)
	s.done(rel, g)
	return nil
}

// stagePath returns where the file rel is staged, its directory made, or
// "" when nothing is staged. s.mu is held.
func (s *treeSink) stagePath(rel string) (string, error) {
	if s.noStage {
		return "", nil
	}
	if s.stage == "" {
		if s.stageErr != nil {
			return "", nil
		}
		tmp, err := os.MkdirTemp(filepath.Dir(s.outDir), "."+filepath.Base(s.outDir)+".new*")
		if err != nil {
			// Reported when something must change (finish).
			s.stageErr = err
			return "", nil
		}
		s.stage = tmp
	}
	if dir := path.Dir(rel); !s.made[dir] {
		if err := os.MkdirAll(filepath.Join(s.stage, filepath.FromSlash(dir)), 0o755); err != nil {
			return "", err
		}
		for d := dir; d != "." && !s.made[d]; d = path.Dir(d) {
			s.made[d] = true
		}
	}
	return filepath.Join(s.stage, filepath.FromSlash(rel)), nil
}

// discard removes what was staged.
func (s *treeSink) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage != "" {
		os.RemoveAll(s.stage)
		s.stage = ""
	}
	s.noStage = true
}

// finish looks at the rest of the old tree once every file is made:
// entries in the way of a generated directory, generated files that no
// longer belong to the fleet (removed), the user's own files (kept), CUE
// sources. When there is no problem and something changed, the staged
// tree replaces the old one (unless checking only); every problem is
// reported at once, and then nothing changes.
func (s *treeSink) finish() (res *GenerateResult, err error) {
	defer func() {
		if err != nil {
			s.discard()
		}
	}()
	if s.walkErr != nil {
		return nil, s.walkErr
	}
	need := map[string]bool{} // directories generated files go in
	for rel := range s.gen {
		for d := path.Dir(rel); d != "." && !need[d]; d = path.Dir(d) {
			need[d] = true
		}
	}
	var keep, removed, dirs []string
	sources := false
	skip := "" // a directory in the way, whose entries are not looked at
	for _, e := range s.walk {
		if skip != "" && strings.HasPrefix(e.rel, skip+"/") {
			continue
		}
		_, generated := s.gen[e.rel]
		if e.kind == kindDir {
			switch {
			case e.name == "cue.mod" || e.name == ".git":
				sources = true
			case generated:
				skip = e.rel // reported by put
			default:
				dirs = append(dirs, e.rel)
			}
			continue
		}
		if strings.HasSuffix(e.name, ".cue") {
			sources = true
		}
		if generated {
			continue
		}
		if need[e.rel] && s.inTheWay(e) {
			keep = append(keep, e.rel)
			continue
		}
		if e.kind != kindRegular {
			keep = append(keep, e.rel) // never opened
			continue
		}
		ours, err := readGenerated(s.abs(e.rel))
		if err != nil {
			return nil, err
		}
		switch {
		case need[e.rel] && !ours:
			s.notGenerated(e.rel)
		case ours:
			removed = append(removed, s.abs(e.rel))
		default:
			keep = append(keep, e.rel) // the user's own file
		}
	}
	if sources {
		s.problem(".", "the output directory holds the fleet's own files (CUE sources, cue.mod or .git)",
			"fleetgen replaces the output directory as a whole; give it one of its own (settings.output or -o), such as nix")
	}
	if len(s.problems) > 0 {
		s.problems.Sort()
		return nil, fromDiag(s.problems)
	}
	res = &GenerateResult{OutDir: s.outDir, Removed: removed}
	for rel, g := range s.gen {
		if g.keep {
			keep = append(keep, rel)
		} else {
			res.Written = append(res.Written, s.abs(rel))
		}
	}
	sort.Strings(res.Written)
	sort.Strings(res.Removed)
	if s.check || !res.Stale() {
		s.discard()
		if !s.check && s.unknown.Load() {
			s.record(false)
		}
		return res, nil
	}
	sort.Strings(dirs)
	if err := checkWritable(s.outDir, dirs); err != nil {
		return nil, err
	}
	if err := s.apply(keep, dirs); err != nil {
		return nil, err
	}
	s.record(true)
	return res, nil
}

// readGenerated reports whether the regular file path starts with the
// generated header. It never follows a link nor waits on a FIFO.
func readGenerated(path string) (bool, error) {
	f, err := openRegular(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	// A header is a short first line; more is not read.
	line, err := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return emit.IsGenerated(strings.TrimRight(line, "\r\n")), nil
}

// compareGenerated reports whether the regular file path holds data, and
// whether it starts with the generated header, and the file's identity,
// reading it through a buffer of a pool rather than whole: a run without
// a manifest compares every file of the old tree. A file is read no
// further than where it differs (its header, when its size is not
// data's).
func compareGenerated(path string, data []byte) (same, ours bool, st fileStat, err error) {
	f, err := openRegular(path)
	if err != nil {
		return false, false, fileStat{}, err
	}
	defer f.Close()
	treeReads.Add(1)
	fi, err := f.Stat()
	if err != nil {
		return false, false, fileStat{}, err
	}
	bp := compareBufs.Get().(*[]byte)
	defer compareBufs.Put(bp)
	buf := *bp
	n, err := io.ReadFull(f, buf)
	eof := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !eof {
		return false, false, fileStat{}, err
	}
	line, _, found := bytes.Cut(buf[:n], []byte("\n"))
	// A first line longer than the buffer is no header.
	ours = (found || eof) && emit.IsGenerated(string(bytes.TrimRight(line, "\r")))
	same = ours && fi.Size() == int64(len(data))
	for off := 0; same; {
		if off+n > len(data) || !bytes.Equal(buf[:n], data[off:off+n]) {
			same = false
			break
		}
		if off += n; eof {
			same = off == len(data)
			break
		}
		n, err = io.ReadFull(f, buf)
		eof = err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return false, false, fileStat{}, err
		}
	}
	return same, ours, statOf(fi), nil
}

var compareBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// stagingRx matches the directories Generate stages a tree in beside the
// output directory (.nix.new123456789, and .nix.new123456789.old where
// the system has no atomic exchange).
func stagingRx(outDir string) *regexp.Regexp {
	return regexp.MustCompile(`^\.` + regexp.QuoteMeta(filepath.Base(outDir)) + `\.new[0-9]+(\.old)?$`)
}

// removeLeftovers removes the staging directories a run that was killed
// left beside outDir. The caller holds the lock, so none is in use.
func removeLeftovers(outDir string) error {
	parent := filepath.Dir(outDir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	rx := stagingRx(outDir)
	for _, e := range ents {
		if !e.IsDir() || !rx.MatchString(e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
			return fromDiag(diag.List{treeProblem(filepath.Join(parent, e.Name()),
				fmt.Sprintf("cannot remove what an interrupted fleetgen left here: %v", err), "make it writable, or remove it by hand")})
		}
	}
	return nil
}

// checkWritable refuses, before anything changes, a tree Generate could
// not replace: the parent of the output directory, where the new tree is
// staged and renamed, and every directory of the old tree (dirs, slash
// paths, sorted), which is removed afterwards, must be writable.
func checkWritable(outDir string, dirs []string) error {
	var problems diag.List
	const fix = "fleetgen replaces the output tree as a whole; make it writable (chmod -R u+w) or choose another output directory"
	if err := writable(filepath.Dir(outDir)); err != nil {
		problems.Add(treeProblem(filepath.Dir(outDir), "not writable, so the new tree could not be staged beside the old one", fix))
	}
	for _, rel := range dirs {
		if err := writable(filepath.Join(outDir, filepath.FromSlash(rel))); err != nil {
			problems.Add(treeProblem(filepath.Join(outDir, filepath.FromSlash(rel)), "not writable, so the old tree could not be removed once replaced", fix))
		}
	}
	if len(problems) > 0 {
		return fromDiag(problems)
	}
	return nil
}

// applyStep, when set (by tests only), is called at each step of apply
// where an interrupted run leaves something behind: "staged" once the
// new tree is complete beside the old one, "exchanged" once the two have
// changed places and the old tree waits to be removed.
var applyStep func(step string)

// apply completes the staged tree, linking the entries of the old tree it
// keeps (so they keep inode and mtime) beside the files written, gives its
// directories the modes of the old ones (dirs), then puts it in place
// with one rename (an atomic exchange where the system has one) and
// removes the old tree.
func (s *treeSink) apply(keep, dirs []string) error {
	s.mu.Lock()
	_, err := s.stagePath(".")
	tmp := s.stage
	s.mu.Unlock()
	switch {
	case err != nil:
		return err
	case tmp == "" && s.stageErr != nil:
		return s.stageErr
	case tmp == "":
		return errors.New("the new tree could not be staged")
	}
	if err := s.link(keep); err != nil {
		return err
	}
	// Directories keep their modes; new ones get 0755. Deepest first, so
	// a directory made read-only does not stop the ones below it.
	rootMode := fs.FileMode(0o755)
	for i := len(dirs) - 1; i >= 0; i-- {
		rel := dirs[i]
		mode := s.old[rel].perm
		if rel == "." {
			rootMode = mode
			continue
		}
		if err := os.Chmod(filepath.Join(tmp, filepath.FromSlash(rel)), mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Chmod(tmp, rootMode); err != nil {
		return err
	}
	if applyStep != nil {
		applyStep("staged")
	}
	if _, err := os.Lstat(s.outDir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, s.outDir)
	}
	if err := exchange(tmp, s.outDir); err != nil {
		return err
	}
	if applyStep != nil {
		applyStep("exchanged")
	}
	// tmp now holds the old tree. Should removing it fail after all, the
	// next run removes it.
	s.mu.Lock()
	s.stage = ""
	s.mu.Unlock()
	return removeTree(tmp)
}

// link links the entries keep of the old tree into the staged one. The
// kernel links into one directory at a time, so each directory's
// entries are linked by one goroutine, the directories on every core.
func (s *treeSink) link(keep []string) error {
	byDir := map[string][]string{}
	var dirs []string
	for _, rel := range keep {
		s.mu.Lock()
		_, err := s.stagePath(rel) // makes its directory
		s.mu.Unlock()
		if err != nil {
			return err
		}
		d := path.Dir(rel)
		if byDir[d] == nil {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], rel)
	}
	// The largest first, so that they do not end last.
	sort.SliceStable(dirs, func(i, j int) bool { return len(byDir[dirs[i]]) > len(byDir[dirs[j]]) })
	errs := make([]error, len(dirs))
	forEach(len(dirs), func(i int) {
		for _, rel := range byDir[dirs[i]] {
			if err := os.Link(s.abs(rel), filepath.Join(s.stage, filepath.FromSlash(rel))); err != nil {
				errs[i] = err
				return
			}
		}
	})
	return errors.Join(errs...)
}

// removeTree removes the tree dir, its sub-directories on every core (as
// link, one goroutine per directory).
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	var subs []string
	for _, e := range ents {
		if e.IsDir() {
			subs = append(subs, filepath.Join(dir, e.Name()))
		}
	}
	errs := make([]error, len(subs)+1)
	forEach(len(subs), func(i int) { errs[i] = os.RemoveAll(subs[i]) })
	errs[len(subs)] = os.RemoveAll(dir)
	return errors.Join(errs...)
}

// A manifestEntry is what the manifest says of a file: its identity when
// the last run left it, and the hash of its contents then.
type manifestEntry struct {
	st   fileStat
	hash [sha256.Size]byte
}

// manifestVersion names the manifest's layout.
const manifestVersion = "tree-manifest-1"

// record keeps in the cache the manifest of the tree this run leaves:
// each generated file's identity, as it is now, and the hash of what it
// holds. A file is recorded only when it is still the file this run
// wrote or found equal (relinked: the kept ones were linked into the new
// tree, which changes their ctime and nothing else), and only when its
// last change is older than the clock tick in which the files are looked
// at: a change in that tick or later gives the file a ctime the manifest
// does not hold. So a file whose identity matches the manifest later was
// not changed since this run looked at it, except by someone who can set
// the clock.
func (s *treeSink) record(relinked bool) {
	if s.cache == nil {
		return
	}
	now, ok := s.tick()
	if !ok {
		return
	}
	rels := make([]string, 0, len(s.gen))
	for rel := range s.gen {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var b []byte
	for _, rel := range rels {
		g := s.gen[rel]
		fi, err := os.Lstat(s.abs(rel))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		st := statOf(fi)
		same := g.st.sameContent(st) || (relinked && g.keep && g.st.sameButCtime(st))
		if !same || st.dev != now.dev || st.ctime >= now.ctime {
			continue
		}
		b = wire.AppendString(b, rel)
		for _, n := range []uint64{st.dev, st.ino, uint64(st.size), uint64(st.mtime), uint64(st.ctime)} {
			b = wire.AppendUint(b, n)
		}
		b = append(b, g.hash[:]...)
	}
	s.cache.Put(s.key, [][]byte{[]byte(manifestVersion), b})
}

// tick returns the identity of a directory made beside the output
// directory (on its file system) once the file system's clock has moved
// past the moment tick was called: every change made before has an older
// ctime than it, every change after a ctime at least as new.
func (s *treeSink) tick() (fileStat, bool) {
	dir, err := os.MkdirTemp(filepath.Dir(s.outDir), "."+filepath.Base(s.outDir)+".new*")
	if err != nil {
		return fileStat{}, false
	}
	defer os.Remove(dir)
	first, err := os.Lstat(dir)
	if err != nil {
		return fileStat{}, false
	}
	start := statOf(first)
	if !start.ok {
		return fileStat{}, false
	}
	for range 100 {
		time.Sleep(time.Millisecond)
		if err := os.Chmod(dir, 0o700); err != nil {
			return fileStat{}, false
		}
		fi, err := os.Lstat(dir)
		if err != nil {
			return fileStat{}, false
		}
		if st := statOf(fi); st.ok && st.ctime > start.ctime {
			return st, true
		}
	}
	return fileStat{}, false
}

// decodeManifest returns the manifest kept as parts, nil when it is not
// one.
func decodeManifest(parts [][]byte) map[string]manifestEntry {
	if len(parts) != 2 || string(parts[0]) != manifestVersion {
		return nil
	}
	m := map[string]manifestEntry{}
	r := wire.NewReader(parts[1])
	for r.Len() > 0 {
		rel := r.String()
		var f [5]uint64
		for i := range f {
			f[i] = r.Uint()
		}
		hash := r.Fixed(sha256.Size)
		if r.Bad() {
			return nil
		}
		e := manifestEntry{st: fileStat{dev: f[0], ino: f[1], size: int64(f[2]), mtime: int64(f[3]), ctime: int64(f[4]), ok: true}}
		copy(e.hash[:], hash)
		m[rel] = e
	}
	return m
}
