package build

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
)

// A Progress renders Events for a person. On a terminal it keeps one live
// status line per host, redrawn in place; anywhere else it writes one plain
// line per step, which reads well in a log. Use its Event method as
// Options.Events and call Close when the run is over. A Progress is safe
// for concurrent use.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	width int // terminal width; 0 when unknown
	hosts []string
	index map[string]int
	state []string // the live line of each host
	drawn int      // lines drawn by the last redraw
	name  int      // width of the host column
}

// NewProgress returns a Progress writing to w about hosts, in that order.
func NewProgress(w io.Writer, hosts []string) *Progress {
	p := &Progress{w: w, hosts: hosts, index: map[string]int{}, state: make([]string, len(hosts))}
	for i, h := range hosts {
		p.index[h] = i
		p.name = max(p.name, len(h))
		p.state[i] = "waiting"
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.live = true
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = wd
		}
	}
	return p
}

// Event records e and updates the output.
func (p *Progress) Event(e Event) {
	if e.Kind == EventExec || e.Kind == EventOutput && !p.live {
		return
	}
	line := describe(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[e.Host]
	if !p.live || !ok {
		if p.live {
			p.clear()
		}
		host := e.Host
		if host == "" {
			host = "fleet"
		}
		fmt.Fprintf(p.w, "%-*s %s\n", p.name, host, line)
		if p.live {
			p.redraw()
		}
		return
	}
	p.state[i] = line
	p.redraw()
}

// describe turns e into a short line: "build: started", "activate: failed: …".
func describe(e Event) string {
	var s string
	switch e.Kind {
	case EventStart:
		s = string(e.Op) + ": started"
	case EventDone:
		s = string(e.Op) + ": done"
	case EventFail:
		s = string(e.Op) + ": failed"
	case EventOutput:
		s = string(e.Op) + ": …"
	default:
		s = string(e.Op) + ":"
	}
	if e.Msg != "" {
		s += " " + e.Msg
	}
	return s
}

// clear erases the live block.
func (p *Progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

// redraw draws the live block again, one line per host.
func (p *Progress) redraw() {
	p.clear()
	var b strings.Builder
	for i, h := range p.hosts {
		line := fmt.Sprintf("%-*s %s", p.name, h, p.state[i])
		if p.width > 1 && len(line) >= p.width {
			line = line[:p.width-1]
		}
		b.WriteString(line)
		b.WriteString("\x1b[K\n")
	}
	io.WriteString(p.w, b.String())
	p.drawn = len(p.hosts)
}

// Close ends the live display, leaving the last state of each host on
// screen.
func (p *Progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawn = 0
}

// WriteSummary writes a table of results to w: host, result, store path
// and time, in the order given, followed by every failure with the tail of
// its command's standard error, so that all failures are reported
// together.
func WriteSummary(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tRESULT\tSTORE PATH\tTIME")
	for _, r := range results {
		path := r.StorePath
		if path == "" {
			path = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Host, r.Status, path, r.Duration.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		for _, err := range []error{r.Err, r.RollbackErr} {
			if err == nil {
				continue
			}
			fmt.Fprintf(w, "\n%s\n", err)
			var e *Error
			if errors.As(err, &e) && strings.TrimSpace(e.Stderr) != "" {
				for _, l := range tailLines(e.Stderr, 10) {
					fmt.Fprintf(w, "    %s\n", l)
				}
			}
		}
	}
	return nil
}

// tailLines returns the last n non-empty lines of s.
func tailLines(s string, n int) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, " \r"))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
