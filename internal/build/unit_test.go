package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fleetnix.dev/fleet/internal/model"
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

func TestAsRoot(t *testing.T) {
	const script = "sh '/run/fleet/x.sh' confirm '' x"
	for _, tt := range []struct {
		user, want string
	}{
		{"", script},
		{"root", script},
		{"deployer", `sudo -n sh -c 'sh '\''/run/fleet/x.sh'\'' confirm '\'''\'' x'`},
	} {
		if got := asRoot(model.Target{Address: "h", User: tt.user}, script); got != tt.want {
			t.Errorf("asRoot for user %q:\n got %s\nwant %s", tt.user, got, tt.want)
		}
	}
}

// TestActionsUseSudo runs protocol actions through a stand-in ssh that
// records its argv and runs the remote command line here, with a sudo
// that records its arguments, so the quoting survives a real shell.
func TestActionsUseSudo(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+src), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("sudo", `echo "sudo $*" >> "$LOG"; [ "$1" = -n ] && shift; exec "$@"`+"\n")
	ssh := write("ssh", `for a; do last=$a; done; echo "ssh $last" >> "$LOG"; exec sh -c "$last"`+"\n")
	t.Setenv("LOG", log)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	for _, user := range []string{"root", "deployer"} {
		os.Remove(log)
		h := &model.Host{Name: "h", Target: model.Target{Address: "h", User: user, Root: filepath.Join(dir, "root dir")}}
		s := &session{d: newDriver(&Options{SSH: ssh}), h: h, token: "tok"}
		out, err := s.action(context.Background(), OpConfirm, "confirm")
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if !strings.Contains(string(out), "fleet: result=not-started") {
			t.Errorf("%s: output %q", user, out)
		}
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		sudo := len(lines) == 2 && strings.HasPrefix(lines[0], "ssh sudo -n sh -c ") &&
			strings.HasPrefix(lines[1], "sudo -n sh -c if [ -e ")
		if want := user != "root"; sudo != want || !want && len(lines) != 1 {
			t.Errorf("%s: sudo %v, want %v; commands:\n%s", user, sudo, want, b)
		}
	}
}

func TestBuildersLine(t *testing.T) {
	bs := []model.Builder{
		{Target: model.Target{Address: "b1.example", User: "root"}, Systems: []string{"x86_64-linux", "i686-linux"},
			MaxJobs: 8, SpeedFactor: 2, SupportedFeatures: []string{"big-parallel", "kvm"}},
		{Target: model.Target{Address: "10.0.0.2", User: "nix"},
			StoreParams: map[string]string{"remote-store": "local?root=/srv/b 2", "remote-program": "/bin/nd"}},
	}
	want := "ssh-ng://root@b1.example x86_64-linux,i686-linux - 8 2 big-parallel,kvm -;" +
		"ssh-ng://nix@10.0.0.2?remote-program=%2Fbin%2Fnd&remote-store=local%3Froot%3D%2Fsrv%2Fb%202 - - 1 1 - -"
	if got := buildersLine(bs); got != want {
		t.Errorf("buildersLine:\n got %q\nwant %q", got, want)
	}
	if _, err := buildersPort([]model.Builder{{Target: model.Target{Port: 2222}}, {}}); err == nil {
		t.Error("buildersPort: builders on different ports: no error")
	}
	if p, err := buildersPort([]model.Builder{{Target: model.Target{Port: 2222}}, {Target: model.Target{Port: 2222}}}); p != 2222 || err != nil {
		t.Errorf("buildersPort = %d, %v; want 2222, nil", p, err)
	}
}
