package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "parse",
		args:  "[--show] FILE...",
		short: "check that Nix files parse; --show prints them as nix-instantiate --parse does",
		run:   runParse,
	})
	register(&command{
		name:  "fmt",
		args:  "[-l] [-w] [-d] [PATH...]",
		short: "format Nix files in the RFC 166 style of nixfmt (like gofmt)",
		run:   runFmt,
	})
}

// fmtDoc explains fmt beyond its flags.
const fmtDoc = `
fmt lays Nix out in one canonical style, that of RFC 166 (the standard
Nix format, which nixfmt implements and Nixpkgs uses): two spaces of
indentation, lines up to 100 columns, one binding per line in a set laid
out on several lines, comments where they were, empty lines kept (several
in a row become one). It has no options. Only whitespace changes, never
the meaning; a file that does not parse is reported and left alone.

With directories, fmt formats their .nix files (hidden ones skipped). A
symlink is followed only to a file inside the directory given (for a file
named directly, the working directory), and -w writes through it, so the
symlink stays a symlink; a file that is not regular, such as a named
pipe, is never opened. -w keeps each file's mode.
`

func runParse(e *env, args []string) int {
	fs := e.flags("parse", "[--show] FILE...")
	show := fs.Bool("show", false, "print each file's expression in nix-instantiate --parse form")
	files, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if len(files) == 0 {
		return e.usageErr("parse", "no files given")
	}
	var all fleet.Errors
	var other []error
	nixFiles, skipped, err := fleet.NixFiles(e.cwd, files)
	if err != nil {
		return e.report(err)
	}
	e.reportSkipped(skipped, &other)
	for _, nf := range nixFiles {
		file := nf.Name
		src, err := fleet.ReadNixFile(nf.Path)
		if err != nil {
			other = append(other, err)
			continue
		}
		if !*show {
			if err := fleet.ParseNix(file, src); err != nil {
				collect(&all, &other, err)
			}
			continue
		}
		out, err := fleet.ShowNix(file, src)
		if err != nil {
			collect(&all, &other, err)
			continue
		}
		fmt.Fprintln(e.stdout, out)
	}
	return e.finish(all, other)
}

// collect adds err to the diagnostics when it is Errors, else to other.
func collect(all *fleet.Errors, other *[]error, err error) {
	var l fleet.Errors
	if errors.As(err, &l) {
		*all = append(*all, l...)
		return
	}
	*other = append(*other, err)
}

// finish reports every problem once and returns the exit code.
func (e *env) finish(all fleet.Errors, other []error) int {
	code := exitOK
	for _, err := range other {
		code = e.report(err)
	}
	if len(all) > 0 {
		code = e.report(all)
	}
	return code
}

func runFmt(e *env, args []string) int {
	flags := e.flags("fmt", "[-l] [-w] [-d] [PATH...]")
	usage := flags.Usage
	flags.Usage = func() {
		usage()
		fmt.Fprint(e.stderr, fmtDoc)
	}
	list := flags.Bool("l", false, "list files whose formatting differs; exit 1 when there are any")
	write := flags.Bool("w", false, "write the result to the file instead of standard output")
	diff := flags.Bool("d", false, "print a unified diff instead of the formatted file")
	paths, ok := parse(flags, args)
	if !ok {
		return exitUsage
	}
	var all fleet.Errors
	var other []error
	changedAny := false
	if len(paths) == 0 {
		if *write {
			return e.usageErr("fmt", "cannot use -w with standard input")
		}
		src, err := io.ReadAll(io.LimitReader(os.Stdin, fleet.MaxNixFileSize+1))
		if err != nil {
			return e.report(err)
		}
		if len(src) > fleet.MaxNixFileSize {
			return e.report(fmt.Errorf("standard input: too large (fleetgen reads at most %d MiB of Nix)", fleet.MaxNixFileSize>>20))
		}
		changedAny = e.fmtOne(fleet.NixFile{Name: "<stdin>"}, src, *list, false, *diff, &all, &other)
	} else {
		files, skipped, err := fleet.NixFiles(e.cwd, paths)
		if err != nil {
			return e.report(err)
		}
		e.reportSkipped(skipped, &other)
		for _, nf := range files {
			src, err := fleet.ReadNixFile(nf.Path)
			if err != nil {
				other = append(other, err)
				continue
			}
			changedAny = e.fmtOne(nf, src, *list, *write, *diff, &all, &other) || changedAny
		}
	}
	code := e.finish(all, other)
	if code == exitOK && *list && changedAny {
		code = exitFail
	}
	return code
}

// reportSkipped says which files were left alone. A file named on the
// command line that was left alone is an error; one found in a directory
// is not.
func (e *env) reportSkipped(skipped []fleet.SkippedFile, other *[]error) {
	for _, sk := range skipped {
		if sk.Named {
			*other = append(*other, fmt.Errorf("%s: %s", fleet.RelPath(e.cwd, sk.Name), sk.Reason))
			continue
		}
		fmt.Fprintf(e.stderr, "%s: skipped: %s\n", fleet.RelPath(e.cwd, sk.Name), sk.Reason)
	}
}

// fmtOne formats one file's source as the flags ask and reports whether
// its formatting differs.
func (e *env) fmtOne(nf fleet.NixFile, src []byte, list, write, diff bool, all *fleet.Errors, other *[]error) bool {
	path := nf.Name
	out, err := fleet.FormatNix(path, src)
	if err != nil {
		collect(all, other, err)
		return false
	}
	changed := !bytes.Equal(src, out)
	if list && changed {
		fmt.Fprintln(e.stdout, filepath.ToSlash(path))
	}
	if write && changed {
		if err := writeKeepingMode(nf.Path, out); err != nil {
			*other = append(*other, err)
		}
	}
	if diff && changed {
		name := filepath.ToSlash(path)
		fmt.Fprintf(e.stdout, "diff -u %s %s\n", name, name)
		io.WriteString(e.stdout, unifiedDiff("a/"+name, "b/"+name, string(src), string(out)))
	}
	if !list && !write && !diff {
		e.stdout.Write(out)
	}
	return changed
}

// writeKeepingMode replaces the regular file path with data through a
// temporary file in the same directory, keeping the file's mode (set-id
// and sticky bits included), so that readers see either the old or the
// new file, never a part. path is never a symlink: fleet.NixFiles gives
// the target, so a symlink stays one.
func writeKeepingMode(path string, data []byte) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not writing: not a regular file", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fleetgen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// unifiedDiff returns a unified diff with three lines of context between
// a and b, or "" when they are equal. Lines a and b share at either end
// are matched first; the lines between are matched by a longest common
// subsequence when there are at most maxDiffCells pairs of them, and
// otherwise are all replaced, so that a diff of a large file whose
// every line changed costs time in proportion to its size, not to its
// square.
func unifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	n, m := len(x), len(y)
	pre := 0
	for pre < n && pre < m && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && x[n-1-suf] == y[m-1-suf] {
		suf++
	}
	mx, my := n-pre-suf, m-pre-suf // the middle lines of each
	var lcs [][]int
	if mx*my <= maxDiffCells {
		lcs = make([][]int, mx+1)
		for i := range lcs {
			lcs[i] = make([]int, my+1)
		}
		for i := mx - 1; i >= 0; i-- {
			for j := my - 1; j >= 0; j-- {
				if x[pre+i] == y[pre+j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		i, j int // line indexes in a and b before this op
	}
	var ops []op
	i, j := 0, 0
	for ; i < pre; i, j = i+1, j+1 {
		ops = append(ops, op{' ', x[i], i, j})
	}
	for i < pre+mx || j < pre+my {
		di, dj := i-pre, j-pre
		switch {
		case lcs != nil && i < pre+mx && j < pre+my && x[i] == y[j]:
			ops = append(ops, op{' ', x[i], i, j})
			i++
			j++
		case i < pre+mx && (j == pre+my || lcs == nil || lcs[di+1][dj] >= lcs[di][dj+1]):
			ops = append(ops, op{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', y[j], i, j})
			j++
		}
	}
	for ; i < n; i, j = i+1, j+1 {
		ops = append(ops, op{' ', x[i], i, j})
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(k-ctx, 0)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		la, lb := 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				la++
			}
			if o.kind != '-' {
				lb++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(ops[start].i, la), hunkRange(ops[start].j, lb))
		for _, o := range ops[start:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		k = end
	}
	return out.String()
}

// maxDiffCells bounds the table of unifiedDiff: 16 MB of ints.
const maxDiffCells = 2 << 20

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	var ls []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			ls = append(ls, s)
			break
		}
		ls = append(ls, s[:i+1])
		s = s[i+1:]
	}
	return ls
}
