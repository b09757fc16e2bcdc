package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return t0.Add(75 * time.Second) }
	p.Event(Event{Time: t0, Host: "alpha", Wave: 1, Op: OpBuild, Kind: EventStart, Msg: "building x"})
	p.Event(Event{Time: t0.Add(time.Second), Host: "alpha", Wave: 1, Op: OpBuild, Kind: EventOutput, Msg: "copying path '/nix/store/x'\r"})
	p.Event(Event{Time: t0, Host: "beta", Wave: 2, Op: OpCopy, Kind: EventStart})
	p.Event(Event{Time: t0.Add(5 * time.Second), Host: "beta", Wave: 2, Op: OpCopy, Kind: EventDone})
	p.Event(Event{Wave: 1, Op: OpRollout, Kind: EventStart, Msg: "wave 1: alpha"})
	p.Close()
	out := buf.String()
	// Every frame but the first starts by moving up over the last one.
	frames := strings.Split(out, "\x1b[2A\x1b[J")
	if len(frames) != 6 {
		t.Fatalf("%d frames, want 6: %q", len(frames), out)
	}
	want := "alpha  w1  build             1:15  copying path '/nix/store/x'\x1b[K\n" +
		"beta   w2  copy done         0:05\x1b[K\n"
	if last := frames[len(frames)-1]; last != want {
		t.Errorf("last frame:\n got %q\nwant %q", last, want)
	}
	// A line is cut to the terminal's width, never inside a character.
	p.width = 33
	if l := p.line(0); l != "alpha  w1  build             1:1" {
		t.Errorf("cut line %q", l)
	}
	p.rows[0].line, p.width = "…", 40
	if l := p.line(0); l != "alpha  w1  build             1:15  …" {
		t.Errorf("line %q", l)
	}
	// A line about the fleet is written above the live block, once.
	if !strings.HasPrefix(frames[4], "fleet rollout: started wave 1: alpha\n") || strings.Count(out, "fleet rollout") != 1 {
		t.Errorf("the wave line is not above the block: %q", frames[4])
	}
}

// TestProgressPreview checks that what activating a host will change
// stays on screen above the live block, while the host's live line moves
// on, and that it is one plain line elsewhere.
func TestProgressPreview(t *testing.T) {
	pv := &Preview{Closure: &ClosureDiff{Added: []Package{{Name: "curl"}}, SizeBefore: 1024, SizeAfter: 3072},
		Units: UnitChanges{Restart: []string{"web.service", "db.service"}}, KernelChanged: true}
	const summary = "closure: 1 added, 0 removed, 0 changed, 1.0 KiB → 3.0 KiB (+2.0 KiB); would restart web.service, db.service; reboot needed: new kernel"
	if got := pv.Summary(); got != summary {
		t.Errorf("summary\n got %q\nwant %q", got, summary)
	}
	ev := Event{Host: "alpha", Wave: 1, Op: OpPreview, Kind: EventDone, Msg: summary, Preview: pv}

	var buf bytes.Buffer
	p := NewProgress(&buf, []string{"alpha", "beta"})
	p.Event(ev)
	p.Close()
	if want := "alpha preview: " + summary + "\n"; buf.String() != want {
		t.Errorf("plain:\n got %q\nwant %q", buf.String(), want)
	}

	buf.Reset()
	p = NewProgress(&buf, []string{"alpha", "beta"})
	p.live = true
	p.Event(Event{Host: "alpha", Wave: 1, Op: OpBuild, Kind: EventStart})
	p.Event(ev)
	p.Event(Event{Host: "alpha", Wave: 1, Op: OpActivate, Kind: EventStart})
	p.Close()
	out := buf.String()
	frames := strings.Split(out, "\x1b[2A\x1b[J")
	if strings.Count(out, summary) != 2 || !strings.HasPrefix(frames[1], "alpha preview: "+summary+"\n") {
		t.Errorf("the preview line is not kept above the block once: %q", out)
	}
	if last := frames[len(frames)-1]; !strings.HasPrefix(last, "alpha  w1  activate") {
		t.Errorf("the live line did not move on: %q", last)
	}
}

// TestWriteSummaryReboot checks that the summary names the deployed hosts
// whose new kernel or initrd needs a reboot, and only those.
func TestWriteSummaryReboot(t *testing.T) {
	var buf bytes.Buffer
	WriteSummary(&buf, []Result{
		{Host: "alpha", Status: Deployed, Preview: &Preview{KernelChanged: true, InitrdChanged: true}},
		{Host: "beta", Status: Deployed, Preview: &Preview{}},
		{Host: "gamma", Status: RolledBack, Preview: &Preview{InitrdChanged: true}},
		{Host: "delta", Status: Deployed, Preview: &Preview{InitrdChanged: true}},
	})
	if want := "\nreboot needed to run the new system fully: alpha (new kernel and initrd), delta (new initrd)\n"; !strings.HasSuffix(buf.String(), want) {
		t.Errorf("got\n%s\nwant it to end with%s", buf.String(), want)
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

// TestWriteSummaryWaves shows the wave column and one line for the hosts
// a stopped rollout did not reach.
func TestWriteSummaryWaves(t *testing.T) {
	var buf bytes.Buffer
	stop := func(h string) error {
		return &Error{Host: h, Op: OpRollout, Kind: KindOther, ExitCode: -1, Err: errors.New("not deployed: wave 2 failed: canary beta rolled back")}
	}
	WriteSummary(&buf, []Result{
		{Host: "alpha", Wave: 1, Status: Deployed, StorePath: "/nix/store/a-alpha", Duration: time.Second},
		{Host: "beta", Wave: 2, Status: RolledBack, StorePath: "/nix/store/b-beta",
			Err: &Error{Host: "beta", Op: OpActivate, Kind: KindExit, ExitCode: 4, Stderr: "units failed\n"}},
		{Host: "gamma", Wave: 2, Status: Skipped, StorePath: "/nix/store/g-gamma", Err: stop("gamma")},
		{Host: "delta", Wave: 3, Status: Skipped, StorePath: "/nix/store/d-delta", Err: stop("delta")},
	})
	want := `HOST   RESULT       STORE PATH          TIME  WAVE
alpha  deployed     /nix/store/a-alpha  1s    1
beta   rolled back  /nix/store/b-beta   0s    2
gamma  skipped      /nix/store/g-gamma  0s    2
delta  skipped      /nix/store/d-delta  0s    3

beta: activate: exit status 4: units failed
    units failed

gamma, delta: not deployed: wave 2 failed: canary beta rolled back
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestSSHArgv pins how a remote command reaches ssh: options first, "--"
// ending them before the destination, and one shell-quoted command line.
func TestSSHArgv(t *testing.T) {
	d := newDriver(&Options{SSHArgs: []string{"-i", "key"}})
	got := d.ssh(model.Target{Address: "web.example", User: "deploy", Port: 2222}, shellLine("sh", "/run/fleet/a b.sh", "it's", "$(x)"))
	want := []string{"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=3", "-p", "2222", "-i", "key", "--", "deploy@web.example",
		`sh '/run/fleet/a b.sh' 'it'\''s' '$(x)'`}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("ssh argv:\n got %q\nwant %q", got, want)
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

// TestParseDryActivate reads what NixOS's switch-to-configuration prints
// in dry-activate, in its own words and order.
func TestParseDryActivate(t *testing.T) {
	out := `would stop swap device: /dev/disk/by-uuid/1234
would stop the following units: accounts-daemon.service, old-app.service
would NOT stop the following changed units: -.mount
would activate the configuration...
setting up /etc...
would restart systemd
would reload the following units: dbus.service
would restart the following units: polkit.service, sshd.service
would start the following units: accounts-daemon.service
`
	u := parseDryActivate(out)
	got := fmt.Sprintf("%q %q %q %q %q %q %v", u.StopSwap, u.Stop, u.Skip, u.Reload, u.Restart, u.Start, u.RestartSystemd)
	want := `["/dev/disk/by-uuid/1234"] ["accounts-daemon.service" "old-app.service"] ["-.mount"] ["dbus.service"] ["polkit.service" "sshd.service"] ["accounts-daemon.service"] true`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !parseDryActivate("would activate the configuration...\n").IsZero() {
		t.Error("no unit changes is not zero")
	}
}

// TestParseDiffClosures reads nix store diff-closures output, colours and
// all, as Nix 2.8 prints it even to a pipe.
// TestParseClosureSizes reads both shapes of nix path-info --json: the
// list of Nix 2.8 (Debian's, which the other tests run) and the object by
// path of Nix 2.19 and later (NixOS 25.05 has 2.28), null for a path that
// is not valid.
func TestParseClosureSizes(t *testing.T) {
	for _, c := range []struct{ name, out string }{
		{"list", `[{"path":"/nix/store/aaa-old","narHash":"sha256:x","narSize":10,"closureSize":1024,"references":[],"valid":true},` +
			`{"path":"/nix/store/bbb-new","narSize":20,"closureSize":3072,"references":["/nix/store/aaa-old"],"valid":true}]`},
		{"object", `{"/nix/store/aaa-old":{"ca":null,"deriver":null,"narHash":"sha256-x","narSize":10,"closureSize":1024,"references":[],"registrationTime":1,"signatures":[],"ultimate":true},` +
			`"/nix/store/bbb-new":{"narSize":20,"closureSize":3072,"references":["/nix/store/aaa-old"]},"/nix/store/ccc-gone":null}`},
		{"object without store dir", `{"aaa-old":{"closureSize":1024},"bbb-new":{"closureSize":3072}}`},
	} {
		got, err := parseClosureSizes([]byte(c.out))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got["/nix/store/aaa-old"] != 1024 || got["/nix/store/bbb-new"] != 3072 {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	if _, err := parseClosureSizes([]byte(`"nope"`)); err == nil {
		t.Error("a JSON string was read as closure sizes")
	}
}

func TestParseDiffClosures(t *testing.T) {
	out := "curl: ∅ → 8.1\n" +
		"hello: 2.12 → 2.13, \x1b[31;1m+20.0 KiB\x1b[0m\n" +
		"glibc: 2.39-52, 2.39-52-bin → 2.40-36, 2.40-36-bin, \x1b[32;1m-1024.5 KiB\x1b[0m\n" +
		"nixos-system-beta-v1: ε → ∅\n" +
		"firmware: \x1b[31;1m+8.0 KiB\x1b[0m\n"
	cd := parseDiffClosures(out)
	var got []string
	for _, a := range cd.Added {
		got = append(got, fmt.Sprintf("+%s %q %d", a.Name, a.Versions, a.SizeDelta))
	}
	for _, r := range cd.Removed {
		got = append(got, fmt.Sprintf("-%s %q %d", r.Name, r.Versions, r.SizeDelta))
	}
	for _, c := range cd.Changed {
		got = append(got, fmt.Sprintf("~%s %q→%q %d", c.Name, c.From, c.To, c.SizeDelta))
	}
	want := []string{
		`+curl ["8.1"] 0`,
		`-nixos-system-beta-v1 [""] 0`,
		`~hello ["2.12"]→["2.13"] 20480`,
		`~glibc ["2.39-52" "2.39-52-bin"]→["2.40-36" "2.40-36-bin"] -1049088`,
		`~firmware []→[] 8192`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := FormatVersions([]string{"", "1.0"}); s != "ε, 1.0" {
		t.Errorf("FormatVersions = %q", s)
	}
	for n, want := range map[int64]string{512: "512 B", 20480: "20.0 KiB", -1049088: "-1.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@mon.example/health?x=1": "https://***@mon.example/health?x=1",
		"http://TOKEN@10.0.0.1:8080/":                "http://***@10.0.0.1:8080/",
		"http://mon.example/metrics":                 "http://mon.example/metrics",
		"http://us er:pa%zz@host/":                   "***@host/",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHealthErrorsRedacted checks that a failing HTTP check with
// credentials in its URL says so without them, in its event and error.
func TestHealthErrorsRedacted(t *testing.T) {
	var events []string
	d := newDriver(&Options{Events: func(e Event) { events = append(events, e.Msg) }})
	h := &model.Host{Name: "h", Health: model.HealthChecks{
		HTTP:    []model.HTTPCheck{{URL: "http://admin:hunter2@127.0.0.1:1/health"}},
		Timeout: 300 * time.Millisecond, Interval: 100 * time.Millisecond}}
	err := d.checkHealth(context.Background(), h)
	if err == nil {
		t.Fatal("a check of a closed port passed")
	}
	all := err.Error() + "\n" + strings.Join(events, "\n")
	if strings.Contains(all, "hunter2") || strings.Contains(all, "admin") {
		t.Errorf("credentials shown:\n%s", all)
	}
	if !strings.Contains(err.Error(), "http http://***@127.0.0.1:1/health: still failing") {
		t.Errorf("error %q does not name the check", err)
	}
}

// TestHostsValidated refuses targets, build hosts and builders that would
// reach ssh or nix's builders setting as options or extra entries, before
// running anything.
func TestHostsValidated(t *testing.T) {
	ok := model.Target{Address: "web.example", User: "root"}
	for name, h := range map[string]*model.Host{
		"option":       {Target: model.Target{Address: "-oProxyCommand=touch /tmp/x"}},
		"space":        {Target: model.Target{Address: "a b"}},
		"semicolon":    {Target: model.Target{Address: "web;evil"}},
		"user":         {Target: model.Target{Address: "web", User: "-l"}},
		"build host":   {Target: ok, Build: model.BuildPlacement{Where: model.BuildRemote, Host: model.Target{Address: "b;c"}}},
		"builder":      {Target: ok, Build: model.BuildPlacement{Builders: []model.Builder{{Target: model.Target{Address: "b c"}}}}},
		"builder word": {Target: ok, Build: model.BuildPlacement{Builders: []model.Builder{{Target: ok, Systems: []string{"x86_64-linux;ssh://evil"}}}}},
	} {
		h.Name = "h"
		var ran []string
		opts := &Options{Events: func(e Event) {
			if e.Kind == EventExec {
				ran = append(ran, e.Msg)
			}
		}}
		errs := Ping(context.Background(), []*model.Host{h}, opts)
		if errs[0] == nil || len(ran) > 0 {
			t.Errorf("%s: ping: %v, ran %q", name, errs[0], ran)
		}
		rs := Build(context.Background(), []*model.Host{h}, opts)
		if rs[0].Err == nil || len(ran) > 0 {
			t.Errorf("%s: build: %v, ran %q", name, rs[0].Err, ran)
		}
	}
}
