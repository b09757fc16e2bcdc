package build

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestErrorMessage(t *testing.T) {
	nixStderr := "building '/nix/store/x-beta.drv'...\n" +
		"error: builder for '/nix/store/x-beta.drv' failed with exit code 1;\n" +
		"       last 1 log lines:\n" +
		"       > broken on purpose\n" +
		"       For full logs, run 'nix log /nix/store/x-beta.drv'.\n"
	cause := errors.New("ssh failed")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Host: "beta", Op: OpBuild, Kind: KindExit, ExitCode: 1, Stderr: nixStderr},
			"beta: build: exit status 1: error: builder for '/nix/store/x-beta.drv' failed with exit code 1;"},
		{&Error{Host: "gamma", Op: OpActivate, Kind: KindExit, ExitCode: 4, Stderr: "fixture: units failed\n\n"},
			"gamma: activate: exit status 4: fixture: units failed"},
		{&Error{Host: "beta", Op: OpActivate, Kind: KindExit, ExitCode: 4,
			Stderr: "fixture: units failed\nfleet: activation failed with status 4; rolling back\nswitching profile from version 2 to 1\n"},
			"beta: activate: exit status 4: fixture: units failed"},
		{&Error{Host: "h", Op: OpQuery, Kind: KindUnreachable, ExitCode: 255, Err: cause, Stderr: "ssh: connect to host x port 22: Connection refused\n"},
			"h: query: ssh failed: ssh: connect to host x port 22: Connection refused"},
		{&Error{Op: OpEval, Kind: KindCanceled, ExitCode: -1},
			"eval: canceled"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
	if !errors.Is(tests[3].err, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	if !IsKind(tests[3].err, KindUnreachable) || IsKind(tests[3].err, KindLost) {
		t.Error("IsKind is wrong")
	}
}

func TestShellQuote(t *testing.T) {
	words := []string{"", "plain", "/nix/store/abc-x", "it's", "a b", "$(false)", "`x`", "\\", "\"q\"", "*", "~", "new\nline"}
	out, err := exec.Command("sh", "-c", "printf '%s\\0' "+shellLine(words...)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("got %d words %q, want %d", len(got), got, len(words))
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: got %q, want %q", i, got[i], words[i])
		}
	}
}

func TestParseKV(t *testing.T) {
	m := parseKV("noise\nfleet: old=/nix/store/a\nfleet: status=4\nfleet: result=\nother: x=y\n", "fleet: ")
	if m["old"] != "/nix/store/a" || m["status"] != "4" || len(m) != 3 {
		t.Errorf("parseKV = %v", m)
	}
	if _, ok := m["result"]; !ok {
		t.Error("an empty value is missing")
	}
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, []string{"alpha", "beta"})
	p.Event(Event{Host: "alpha", Op: OpBuild, Kind: EventStart, Msg: "building x"})
	p.Event(Event{Host: "alpha", Op: OpBuild, Kind: EventExec, Msg: "nix build x"})
	p.Event(Event{Host: "alpha", Op: OpBuild, Kind: EventOutput, Msg: "log line"})
	p.Event(Event{Host: "beta", Op: OpActivate, Kind: EventFail, Msg: "exit status 4"})
	p.Close()
	want := "alpha build: started building x\nbeta  activate: failed exit status 4\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestProgressLive(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, []string{"alpha", "beta"})
	p.live = true // as on a terminal
	p.Event(Event{Host: "alpha", Op: OpBuild, Kind: EventStart})
	p.Event(Event{Host: "beta", Op: OpCopy, Kind: EventDone})
	p.Close()
	out := buf.String()
	// The second redraw moves up over the two lines of the first.
	if strings.Count(out, "\x1b[2A") != 1 {
		t.Errorf("no redraw in place: %q", out)
	}
	last := out[strings.LastIndex(out, "\x1b[2A"):]
	if !strings.Contains(last, "alpha build: started\x1b[K\nbeta  copy: done\x1b[K\n") {
		t.Errorf("last frame is %q", last)
	}
}

func TestWriteSummary(t *testing.T) {
	var buf bytes.Buffer
	WriteSummary(&buf, []Result{
		{Host: "alpha", Status: Deployed, StorePath: "/nix/store/a-alpha", Duration: 1500 * time.Millisecond},
		{Host: "gamma", Status: RolledBack, StorePath: "/nix/store/g-gamma",
			Err: &Error{Host: "gamma", Op: OpActivate, Kind: KindExit, ExitCode: 4, Stderr: "line 1\nunits failed\n"}},
		{Host: "delta", Status: Failed},
	})
	want := `HOST   RESULT       STORE PATH          TIME
alpha  deployed     /nix/store/a-alpha  1.5s
gamma  rolled back  /nix/store/g-gamma  0s
delta  failed       -                   0s

gamma: activate: exit status 4: units failed
    line 1
    units failed
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
