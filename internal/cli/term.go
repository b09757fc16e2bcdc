package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"fleetnix.dev/fleet/fleet"
)

// isTerminal reports whether w is a character device: a terminal, where
// fleetgen may draw progress and colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor says whether diagnostics written to w get colour: on a
// terminal, or anywhere with CLICOLOR_FORCE set (for logs that keep it);
// never with NO_COLOR set (https://no-color.org) or TERM=dumb.
func useColor(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	if f := getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	return isTerminal(w)
}

// printErrors prints err as fleet.PrintErrors does, in colour when the
// command's stderr takes it. It reports whether it printed.
func (e *env) printErrors(w io.Writer, err error) bool {
	return fleet.PrintErrorsWith(w, e.cwd, err, fleet.PrintOptions{Color: e.color && w == e.stderr})
}

// A progressLine shows, on a terminal, how far a load is: one line,
// rewritten in place at most every tick and erased when done.
type progressLine struct {
	w     io.Writer
	mu    sync.Mutex
	last  time.Time
	shown bool
}

// loadProgress returns a progress callback for a load when stderr is a
// terminal, and a function that erases the line; nil and a no-op
// otherwise.
func (e *env) loadProgress() (func(done, total int), func()) {
	if !e.tty {
		return nil, func() {}
	}
	p := &progressLine{w: e.stderr}
	return p.update, p.clear
}

const progressTick = 100 * time.Millisecond

func (p *progressLine) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(p.last) < progressTick {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "\r\x1b[Kfleetgen: evaluated %d of %d hosts", done, total)
	p.shown = true
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
