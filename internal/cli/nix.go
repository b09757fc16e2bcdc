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
		short: "format Nix files in the canonical layout (like gofmt)",
		run:   runFmt,
	})
}

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
	for _, file := range files {
		src, err := os.ReadFile(file)
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
	list := flags.Bool("l", false, "list files whose formatting differs; exit 1 when there are any")
	write := flags.Bool("w", false, "write the result to the file instead of standard output")
	diff := flags.Bool("d", false, "print a unified diff instead of the formatted file")
	paths, ok := parse(flags, args)
	if !ok {
		return exitUsage
	}
	if len(paths) == 0 {
		if *write {
			return e.usageErr("fmt", "cannot use -w with standard input")
		}
		src, err := io.ReadAll(os.Stdin)
		if err != nil {
			return e.report(err)
		}
		var all fleet.Errors
		var other []error
		changed := e.fmtOne("<stdin>", src, *list, false, *diff, &all, &other)
		code := e.finish(all, other)
		if code == exitOK && *list && changed {
			code = exitFail
		}
		return code
	}
	var all fleet.Errors
	var other []error
	changedAny := false
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			other = append(other, err)
			continue
		}
		if !info.IsDir() {
			changedAny = e.fmtFile(p, *list, *write, *diff, &all, &other) || changedAny
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				other = append(other, err)
				return nil
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".nix") && !strings.HasPrefix(d.Name(), ".") {
				changedAny = e.fmtFile(path, *list, *write, *diff, &all, &other) || changedAny
			}
			return nil
		})
		if err != nil {
			other = append(other, err)
		}
	}
	code := e.finish(all, other)
	if code == exitOK && *list && changedAny {
		code = exitFail
	}
	return code
}

func (e *env) fmtFile(path string, list, write, diff bool, all *fleet.Errors, other *[]error) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		*other = append(*other, err)
		return false
	}
	return e.fmtOne(path, src, list, write, diff, all, other)
}

// fmtOne formats one file's source as the flags ask and reports whether
// its formatting differs.
func (e *env) fmtOne(path string, src []byte, list, write, diff bool, all *fleet.Errors, other *[]error) bool {
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
		if err := writeAtomic(path, out); err != nil {
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

// writeAtomic replaces path with data through a temporary file in the
// same directory, keeping the file's permissions, so that readers see
// either the old or the new file, never a part.
func writeAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
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
// a and b, or "" when they are equal. It uses a longest-common-subsequence
// table over lines, which is fine for source files.
func unifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
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
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, op{' ', x[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', y[j], i, j})
			j++
		}
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
