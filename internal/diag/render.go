package diag

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Printer renders diagnostics as text for a terminal or a log.
// Paths are shown relative to Cwd with forward slashes. Source returns the
// contents of a file for the snippet under each diagnostic; when it is nil
// or fails, no snippet is shown. The zero Printer prints paths as they are,
// without snippets.
type Printer struct {
	Cwd    string
	Source func(file string) ([]byte, bool)
	// Color marks the severity (error in red, warning in yellow, info in
	// cyan) and the position (bold) with ANSI escapes, for a terminal.
	Color bool
}

// ANSI escapes of Printer.Color.
const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[1;36m"
	ansiReset  = "\x1b[0m"
)

// paint wraps s in the escape code when p.Color is set.
func (p *Printer) paint(code, s string) string {
	if !p.Color {
		return s
	}
	return code + s + ansiReset
}

var severityColor = map[Severity]string{Error: ansiRed, Warning: ansiYellow, Info: ansiCyan}

// Fprint writes every diagnostic of l to w, each once, in order:
//
//	file:line:col: error: summary
//	    12 |     port = 70000;
//	       |            ^
//	  detail
//	  file:line:col: related message
//
// A snippet shows at most SnippetWidth columns of its line, around the
// start of the range, with … where the line was cut; control characters
// and bytes that are not UTF-8 are shown as ?, so that a hostile file
// cannot write to the terminal through a snippet. Each file is read once
// per call.
func (p *Printer) Fprint(w io.Writer, l List) error {
	var buf bytes.Buffer
	files := map[string]*source{}
	for _, d := range l {
		p.one(&buf, d, files)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// SnippetWidth is the most columns of a source line a snippet shows.
const SnippetWidth = 100

// A source is a file read for snippets, with the offsets of its lines.
type source struct {
	src   []byte
	lines []int // offset of the start of each line
}

func (s *source) line(n int) []byte {
	if n < 1 || n > len(s.lines) {
		return nil
	}
	start, end := s.lines[n-1], len(s.src)
	if n < len(s.lines) {
		end = s.lines[n] - 1
	}
	return bytes.TrimRight(s.src[start:end], "\r")
}

// Position returns r formatted as file:line:col with the file relative to
// p.Cwd.
func (p *Printer) Position(r Range) string {
	r.File = RelPath(p.Cwd, r.File)
	return r.String()
}

func (p *Printer) one(w *bytes.Buffer, d Diagnostic, files map[string]*source) {
	fmt.Fprintf(w, "%s: %s: %s\n", p.paint(ansiBold, p.Position(d.Range)), p.paint(severityColor[d.Severity], d.Severity.String()), d.Summary)
	p.snippet(w, d.Range, files)
	if d.Detail != "" {
		for _, line := range strings.Split(strings.TrimRight(d.Detail, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	for _, r := range d.Related {
		fmt.Fprintf(w, "    %s: %s\n", p.Position(r.Range), r.Message)
	}
}

func (p *Printer) snippet(w *bytes.Buffer, r Range, files map[string]*source) {
	if p.Source == nil || r.File == "" || !r.Start.IsValid() {
		return
	}
	f, seen := files[r.File]
	if !seen {
		if src, ok := p.Source(r.File); ok {
			f = &source{src: src, lines: []int{0}}
			for i, c := range src {
				if c == '\n' {
					f.lines = append(f.lines, i+1)
				}
			}
		}
		files[r.File] = f
	}
	if f == nil {
		return
	}
	line := f.line(r.Start.Line)
	if len(line) == 0 {
		return
	}
	start := min(max(r.Start.Col-1, 0), len(line))
	end := start + 1
	if r.End.Line == r.Start.Line && r.End.Col > r.Start.Col {
		end = min(r.End.Col-1, len(line))
	}
	text, caret, width := window(line, start, end)
	num := fmt.Sprint(r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "    %s | %s\n", num, text)
	fmt.Fprintf(w, "    %s | %s%s\n", pad, strings.Repeat(" ", caret), strings.Repeat("^", max(width, 1)))
}

// window returns the part of line shown around the bytes [start, end),
// made printable, with the column of start in it and the columns of the
// range that it shows.
func window(line []byte, start, end int) (text string, caret, width int) {
	// Cut at most SnippetWidth bytes, starting a third of the way before
	// start, on rune boundaries.
	from := 0
	if len(line) > SnippetWidth && start > SnippetWidth/3 {
		from = min(start-SnippetWidth/3, len(line)-SnippetWidth)
	}
	to := min(from+SnippetWidth, len(line))
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to++
	}
	var b strings.Builder
	col := 0
	if from > 0 {
		b.WriteString("…")
		col++
	}
	caret, width = -1, 0
	for i := from; i < to; {
		if i == start {
			caret = col
		}
		r, n := utf8.DecodeRune(line[i:])
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError && n <= 1, !unicode.IsPrint(r):
			b.WriteByte('?')
			n = max(n, 1)
		default:
			b.Write(line[i : i+n])
		}
		if i >= start && i < end {
			width++
		}
		col++
		i += n
	}
	if caret < 0 {
		caret = col
	}
	if to < len(line) {
		b.WriteString("…")
	}
	return b.String(), caret, width
}
