package diag

import (
	"bytes"
	"fmt"
	"io"
	"strings"
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
func (p *Printer) Fprint(w io.Writer, l List) error {
	var buf bytes.Buffer
	for _, d := range l {
		p.one(&buf, d)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Position returns r formatted as file:line:col with the file relative to
// p.Cwd.
func (p *Printer) Position(r Range) string {
	r.File = RelPath(p.Cwd, r.File)
	return r.String()
}

func (p *Printer) one(w *bytes.Buffer, d Diagnostic) {
	fmt.Fprintf(w, "%s: %s: %s\n", p.paint(ansiBold, p.Position(d.Range)), p.paint(severityColor[d.Severity], d.Severity.String()), d.Summary)
	p.snippet(w, d.Range)
	if d.Detail != "" {
		for _, line := range strings.Split(strings.TrimRight(d.Detail, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	for _, r := range d.Related {
		fmt.Fprintf(w, "    %s: %s\n", p.Position(r.Range), r.Message)
	}
}

func (p *Printer) snippet(w *bytes.Buffer, r Range) {
	if p.Source == nil || r.File == "" || !r.Start.IsValid() {
		return
	}
	src, ok := p.Source(r.File)
	if !ok {
		return
	}
	line := lineAt(src, r.Start.Line)
	if line == "" {
		return
	}
	num := fmt.Sprint(r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "    %s | %s\n", num, strings.ReplaceAll(line, "\t", " "))
	col := r.Start.Col - 1
	if col > len(line) {
		col = len(line)
	}
	width := 1
	if r.End.Line == r.Start.Line && r.End.Col > r.Start.Col {
		width = r.End.Col - r.Start.Col
	}
	fmt.Fprintf(w, "    %s | %s%s\n", pad, strings.Repeat(" ", col), strings.Repeat("^", width))
}

func lineAt(src []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimRight(string(src), "\r")
}
