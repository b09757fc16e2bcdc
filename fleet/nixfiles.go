package fleet

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Finding and reading the Nix files of a tree. A tree is a directory
// lint or fmt was given, or for a file named on the command line the
// working directory (for lint of a fleet, the module). Nothing outside
// it is read: a symlink is followed only to a regular file inside the
// tree, symlinks to directories are never followed, and a file that is
// not regular (a FIFO, a socket, a device) is never opened, so that
// neither a hostile tree nor a stray named pipe can make lint print a
// file from elsewhere or wait forever.

// A NixFile is a Nix file to read: Name as it was found, which messages
// use, and Path, the regular file to read and write: Name itself, or the
// target of the symlink Name, which lies inside the tree.
type NixFile struct {
	Name, Path string
}

// A SkippedFile is a file left alone, and why. Named is set for a file
// named directly, rather than found in a directory.
type SkippedFile struct {
	Name   string
	Reason string
	Named  bool
}

// MaxNixFileSize is the largest Nix file fleetgen reads: 64 MiB, about
// forty times Nixpkgs' largest file.
const MaxNixFileSize = 64 << 20

// NixFiles expands paths, files or directories walked for *.nix (hidden
// files and directories skipped), into the Nix files to read, with dir
// as the tree of the files named directly. It reports the files it
// leaves alone and why; a path that does not exist is an error.
func NixFiles(dir string, paths []string) ([]NixFile, []SkippedFile, error) {
	return nixFiles(dir, paths, false)
}

// nixFiles is NixFiles; fleetWalk leaves out, as CUE's ./... does, what
// is not the fleet's own: test fixtures, _-prefixed directories, nested
// CUE modules, and the files fleet generated.
func nixFiles(dir string, paths []string, fleetWalk bool) ([]NixFile, []SkippedFile, error) {
	var files []NixFile
	var skipped []SkippedFile
	seen := map[string]bool{} // paths read, so that a link and its target count once
	add := func(name, tree, treeName string, typ fs.FileMode, named bool) {
		f, why := resolveNix(name, tree, treeName, typ)
		switch {
		case why != "":
			skipped = append(skipped, SkippedFile{Name: name, Reason: why, Named: named})
		case seen[f.Path]:
		case fleetWalk && isFleetGenerated(f.Path):
		default:
			seen[f.Path] = true
			files = append(files, f)
		}
	}
	dirTree, err := realDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			add(p, dirTree, "the working directory", info.Mode().Type(), true)
			continue
		}
		tree, err := realDir(p)
		if err != nil {
			return nil, nil, err
		}
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			hidden := name != p && strings.HasPrefix(d.Name(), ".")
			if d.IsDir() {
				if hidden || name != p && d.Name() == "cue.mod" {
					return filepath.SkipDir
				}
				if fleetWalk && name != p && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), "_") || isModule(name)) {
					return filepath.SkipDir
				}
				return nil
			}
			if hidden || !strings.HasSuffix(name, ".nix") {
				return nil
			}
			add(name, tree, filepath.ToSlash(p), d.Type(), false)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return files, skipped, nil
}

// realDir returns the absolute path of dir with its symlinks resolved.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// resolveNix decides whether the file name, of type typ (from Lstat or a
// directory entry), is read, and from where; tree is the real path of
// its tree, and treeName what messages call it.
func resolveNix(name, tree, treeName string, typ fs.FileMode) (NixFile, string) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return NixFile{}, err.Error()
	}
	switch {
	case typ.IsRegular():
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return NixFile{}, err.Error()
		}
		return NixFile{Name: name, Path: real}, ""
	case typ&fs.ModeSymlink != 0:
		target, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return NixFile{}, "a symlink to nothing"
		}
		if !inTree(tree, target) {
			return NixFile{}, "a symlink to a file outside " + treeName + "; not followed"
		}
		info, err := os.Stat(target)
		if err != nil {
			return NixFile{}, err.Error()
		}
		if !info.Mode().IsRegular() {
			return NixFile{}, "a symlink to " + fileKind(info.Mode()) + ", not a regular file"
		}
		return NixFile{Name: name, Path: target}, ""
	}
	return NixFile{}, fileKind(typ) + ", not a regular file"
}

// inTree reports whether the absolute path name lies inside the directory
// tree.
func inTree(tree, name string) bool {
	rel, err := filepath.Rel(tree, name)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// fileKind names the kind of file a mode is, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// ReadNixFile reads the Nix file at path, which must be a regular file
// (a named pipe is not waited on) of at most MaxNixFileSize bytes. A
// symlink at path itself is not followed: NixFiles resolves them.
func ReadNixFile(path string) ([]byte, error) { return readRegular(path, false) }

// readRegular reads the regular file at path, following a symlink at
// path when follow is set.
func readRegular(path string, follow bool) ([]byte, error) {
	f, err := openNixFile(path, follow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s, not a regular file", path, fileKind(info.Mode()))
	}
	if info.Size() > MaxNixFileSize {
		return nil, fmt.Errorf("%s: too large to read (%d bytes; fleetgen reads Nix files of at most %d MiB)", path, info.Size(), MaxNixFileSize>>20)
	}
	var b bytes.Buffer
	b.Grow(int(info.Size()) + 1)
	if _, err := b.ReadFrom(&limitedFile{f, MaxNixFileSize + 1}); err != nil {
		return nil, err
	}
	if b.Len() > MaxNixFileSize {
		return nil, fmt.Errorf("%s: too large to read (fleetgen reads Nix files of at most %d MiB)", path, MaxNixFileSize>>20)
	}
	return b.Bytes(), nil
}

// limitedFile reads at most n bytes of f.
type limitedFile struct {
	f *os.File
	n int64
}

func (l *limitedFile) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// generatedRx matches the header lines of files that say a program wrote
// them and people should not edit them: Go's convention ("Code generated
// … DO NOT EDIT."), which fleet follows, and nixos-generate-config's
// hardware-configuration.nix ("Do not modify this file!  It was
// generated by ‘nixos-generate-config’").
var generatedRx = regexp.MustCompile(`(?m)^#\s*(Code generated .* DO NOT EDIT\.|Do not modify this file!.*generated)`)

// generatedBy reports whether the Nix source src says a program generated
// it, in a comment before its code, and returns that line.
func generatedBy(src []byte) (string, bool) {
	head := leadingComments(src)
	loc := generatedRx.FindIndex(head)
	if loc == nil {
		return "", false
	}
	line := head[loc[0]:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSpace(string(line)), true
}

// leadingComments returns the start of src up to its first token that is
// not a comment or whitespace.
func leadingComments(src []byte) []byte {
	i := 0
	for i < len(src) {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			j := bytes.IndexByte(src[i:], '\n')
			if j < 0 {
				return src
			}
			i += j + 1
		default:
			return src[:i]
		}
	}
	return src
}

// isFleetGenerated reports whether the file at path starts with the
// header fleet writes.
func isFleetGenerated(path string) bool {
	f, err := openNixFile(path, false)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(generatedHeader))
	n, _ := f.Read(buf)
	return bytes.Equal(buf[:n], []byte(generatedHeader))
}

// generatedHeader starts every file fleet generates.
const generatedHeader = "# Code generated"
