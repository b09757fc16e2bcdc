package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpEveryCommand checks that every command and every group of
// commands answers --help and "fleetgen help" on stdout with its usage and
// exit status 0, and lists no flag that exists for testing.
func TestHelpEveryCommand(t *testing.T) {
	names := sortedCommandNames()
	groups := map[string]bool{}
	for _, n := range names {
		if g, _, ok := strings.Cut(n, " "); ok {
			groups[g] = true
		}
	}
	for g := range groups {
		names = append(names, g)
	}
	for _, n := range names {
		words := strings.Fields(n)
		for _, args := range [][]string{append(words, "--help"), append([]string{"help"}, words...), append(words, "-h")} {
			var out, errb bytes.Buffer
			code := Main(args, &out, &errb)
			if code != 0 {
				t.Errorf("fleetgen %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), code, errb.String())
			}
			if errb.Len() > 0 {
				t.Errorf("fleetgen %s wrote to stderr:\n%s", strings.Join(args, " "), errb.String())
			}
			if u := "usage: fleetgen " + n; !strings.HasPrefix(out.String(), u+" ") && !strings.HasPrefix(out.String(), u+"\n") {
				t.Errorf("fleetgen %s: stdout does not start with its usage:\n%s", strings.Join(args, " "), out.String())
			}
			if strings.Contains(out.String(), testOnly) || strings.Contains(out.String(), "target-root") {
				t.Errorf("fleetgen %s lists a flag for testing:\n%s", strings.Join(args, " "), out.String())
			}
		}
	}
}

func TestUseColor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var b bytes.Buffer
	for _, c := range []struct {
		env  func(string) string
		want bool
	}{
		{env(), false}, // not a terminal
		{env("CLICOLOR_FORCE", "1"), true},
		{env("CLICOLOR_FORCE", "0"), false},
		{env("CLICOLOR_FORCE", "1", "NO_COLOR", "1"), false},
		{env("CLICOLOR_FORCE", "1", "TERM", "dumb"), false},
	} {
		if got := useColor(&b, c.env); got != c.want {
			t.Errorf("useColor = %v, want %v", got, c.want)
		}
	}
}

// TestProgressLine checks the progress a load draws on a terminal: one
// line rewritten in place, the last count always shown, and erased at the
// end; off a terminal there is none.
func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := &progressLine{w: &b}
	for i := 1; i <= 3; i++ {
		p.update(i, 3)
	}
	p.clear()
	got := b.String()
	if !strings.HasPrefix(got, "\r\x1b[Kfleetgen: evaluated 1 of 3 hosts") ||
		!strings.Contains(got, "\r\x1b[Kfleetgen: evaluated 3 of 3 hosts") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("progress = %q", got)
	}
	if strings.Contains(got, "2 of 3") {
		t.Errorf("progress redrawn within a tick: %q", got)
	}
	e := &env{stderr: &b}
	if f, _ := e.loadProgress(); f != nil {
		t.Error("progress off a terminal")
	}
}
