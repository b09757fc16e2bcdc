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
// line per host, redrawn in place: its wave, its step, how long it has
// been worked on and the last line its commands printed. Anywhere else it
// writes one plain line per step, which reads well in a log. Use its Event
// method as Options.Events and call Close when the run is over. A Progress
// is safe for concurrent use.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	width int // terminal width; 0 when unknown
	hosts []string
	index map[string]int
	rows  []progressRow
	drawn int // lines drawn by the last redraw
	name  int // width of the host column
	now   func() time.Time
	done  chan struct{} // closed by Close; stops the clock
}

// A progressRow is the live state of one host.
type progressRow struct {
	wave  int
	phase string    // "build", "copy done", "deployed", …
	start time.Time // first step started; zero before
	last  time.Time // last event
	busy  bool      // a step is under way
	line  string    // last line of output or note
}

// NewProgress returns a Progress writing to w about hosts, in that order.
func NewProgress(w io.Writer, hosts []string) *Progress {
	p := &Progress{w: w, hosts: hosts, index: map[string]int{}, rows: make([]progressRow, len(hosts)),
		now: time.Now, done: make(chan struct{})}
	for i, h := range hosts {
		p.index[h] = i
		p.name = max(p.name, len(h))
		p.rows[i].phase = "waiting"
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.live = true
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = wd
		}
		go p.tick()
	}
	return p
}

// tick redraws the live block every second, so that elapsed times move
// while nothing else happens.
func (p *Progress) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			if p.drawn > 0 {
				p.redraw()
			}
			p.mu.Unlock()
		}
	}
}

// Event records e and updates the output.
func (p *Progress) Event(e Event) {
	if e.Kind == EventExec || e.Kind == EventOutput && !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[e.Host]
	// What activating a host will change stays on screen: the live line
	// moves on to the next step.
	keep := e.Op == OpPreview && e.Kind == EventDone
	if !p.live || !ok || keep {
		if e.Kind == EventOutput {
			return
		}
		if p.live {
			p.clear()
		}
		host := e.Host
		if host == "" {
			host = "fleet"
		}
		fmt.Fprintf(p.w, "%-*s %s\n", p.name, host, describe(e))
		if p.live {
			p.redraw()
		}
		if !keep || !ok || !p.live {
			return
		}
	}
	r := &p.rows[i]
	at := e.Time
	if at.IsZero() {
		at = p.now()
	}
	if e.Wave != 0 {
		r.wave = e.Wave
	}
	switch e.Kind {
	case EventStart:
		if r.start.IsZero() {
			r.start = at
		}
		r.phase, r.busy, r.line = string(e.Op), true, e.Msg
	case EventDone:
		r.phase, r.busy = string(e.Op)+" done", false
		if e.Op == OpConfirm {
			r.phase = "deployed"
		}
		r.line = e.Msg
	case EventFail:
		r.phase, r.busy, r.line = string(e.Op)+" failed", false, e.Msg
	default:
		if e.Msg != "" {
			r.line = e.Msg
		}
	}
	r.last = at
	p.redraw()
}

// describe turns e into a short line: "build: started", "activate: failed: …".
func describe(e Event) string {
	var s string
	switch {
	case e.Op == OpPreview && e.Kind == EventDone:
		return string(e.Op) + ": " + e.Msg
	case e.Kind == EventStart:
		s = string(e.Op) + ": started"
	case e.Kind == EventDone:
		s = string(e.Op) + ": done"
	case e.Kind == EventFail:
		s = string(e.Op) + ": failed"
	case e.Kind == EventOutput:
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

// line returns the live line of host i: "alpha  w1  activate      0:12  …".
func (p *Progress) line(i int) string {
	r := &p.rows[i]
	wave := "  "
	if r.wave != 0 {
		wave = fmt.Sprintf("w%d", r.wave)
	}
	elapsed := ""
	if !r.start.IsZero() {
		end := r.last
		if r.busy {
			end = p.now()
		}
		d := end.Sub(r.start).Round(time.Second)
		elapsed = fmt.Sprintf("%d:%02d", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	text := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, r.line)
	l := fmt.Sprintf("%-*s  %-3s %-16s %5s  %s", p.name, p.hosts[i], wave, r.phase, elapsed, text)
	if rs := []rune(l); p.width > 1 && len(rs) >= p.width {
		// One column short of the width: a full line would wrap.
		l = string(rs[:p.width-1])
	}
	return strings.TrimRight(l, " ")
}

// redraw draws the live block again, one line per host.
func (p *Progress) redraw() {
	p.clear()
	var b strings.Builder
	for i := range p.hosts {
		b.WriteString(p.line(i))
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
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	if p.drawn > 0 {
		p.redraw()
	}
	p.drawn = 0
}

// WriteSummary writes a table of results to w: host, result, store path,
// time and rollout wave, in the order given, followed by every failure with
// the tail of its command's standard error, so that all failures are
// reported together. Hosts left alone because the rollout stopped are
// reported in one line per reason.
func WriteSummary(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	waves := false
	for _, r := range results {
		waves = waves || r.Wave != 0
	}
	head := "HOST\tRESULT\tSTORE PATH\tTIME"
	if waves {
		head += "\tWAVE"
	}
	fmt.Fprintln(tw, head)
	for _, r := range results {
		path := r.StorePath
		if path == "" {
			path = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s", r.Host, r.Status, path, r.Duration.Round(time.Millisecond))
		if waves {
			fmt.Fprintf(tw, "\t%d", r.Wave)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Hosts the rollout did not reach, grouped by why.
	var whys []string
	notDeployed := map[string][]string{}
	for _, r := range results {
		var e *Error
		if r.Status == Skipped && errors.As(r.Err, &e) && e.Op == OpRollout && e.Err != nil {
			why := e.Err.Error()
			if notDeployed[why] == nil {
				whys = append(whys, why)
			}
			notDeployed[why] = append(notDeployed[why], r.Host)
			continue
		}
		for _, err := range []error{r.Err, r.RollbackErr} {
			if err == nil {
				continue
			}
			fmt.Fprintf(w, "\n%s\n", err)
			if errors.As(err, &e) && strings.TrimSpace(e.Stderr) != "" {
				for _, l := range tailLines(e.Stderr, 10) {
					fmt.Fprintf(w, "    %s\n", l)
				}
			}
		}
	}
	for _, why := range whys {
		fmt.Fprintf(w, "\n%s: %s\n", strings.Join(notDeployed[why], ", "), why)
	}
	// Hosts that run their new system only fully after a reboot.
	var reboot []string
	for _, r := range results {
		if r.Status == Deployed && r.Preview != nil && r.Preview.RebootNeeded() {
			reboot = append(reboot, r.Host+" ("+r.Preview.RebootWhy()+")")
		}
	}
	if len(reboot) > 0 {
		fmt.Fprintf(w, "\nreboot needed to run the new system fully: %s\n", strings.Join(reboot, ", "))
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
