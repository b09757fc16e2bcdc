package fleettest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SSHDPath is the OpenSSH server the tests start. sshd insists on being run
// by its absolute path.
const SSHDPath = "/usr/sbin/sshd"

// HostKeyAlias is the name under which every test sshd's host key is
// recorded in the known_hosts file, whatever its port.
const HostKeyAlias = "fleet-test-host"

// An SSHD is a real OpenSSH server listening on 127.0.0.1 that stands in
// for one host of a fleet. Each has its own port and its own root
// directory, announced to sessions as $FLEET_TEST_ROOT. It is stopped when
// the test ends.
type SSHD struct {
	// Addr is always "127.0.0.1".
	Addr string
	// Port is the port it listens on.
	Port int
	// User is the login to use: the user running the tests.
	User string
	// Root is the directory sessions see as $FLEET_TEST_ROOT.
	Root string

	keys   *Keys
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed when the server has exited

	mu     sync.Mutex
	killed bool
}

// Keys are the throwaway key pair and host key shared by the sshd
// instances of one test binary.
type Keys struct {
	Dir        string // holds every file below
	Identity   string // the client's private key
	KnownHosts string // a known_hosts file naming HostKeyAlias
	hostKey    string
	authKeys   string
}

var (
	keysOnce sync.Once
	keys     *Keys
	keysErr  error
)

// SSHKeys returns the key material of this test binary, generating it with
// ssh-keygen on first use. It lives in a directory removed by Cleanup.
func SSHKeys(t testing.TB) *Keys {
	t.Helper()
	keysOnce.Do(func() {
		var dir string
		if dir, keysErr = os.MkdirTemp("", "fleettest-ssh-"); keysErr == nil {
			keys, keysErr = MakeKeys(dir)
		}
	})
	if keysErr != nil {
		t.Fatalf("fleettest: generating ssh keys: %v", keysErr)
	}
	return keys
}

// Cleanup removes the key directory made by SSHKeys. Call it from
// TestMain after m.Run.
func Cleanup() {
	if keys != nil {
		os.RemoveAll(keys.Dir)
	}
}

// MakeKeys generates, in the existing directory dir, a throwaway client
// key pair, host key, authorized_keys and known_hosts, as SSHKeys does once
// per test binary. Testscript commands use it to give each script keys of
// its own, in its work directory.
func MakeKeys(dir string) (*Keys, error) {
	k := &Keys{
		Dir:        dir,
		Identity:   filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		hostKey:    filepath.Join(dir, "host_ed25519"),
		authKeys:   filepath.Join(dir, "authorized_keys"),
	}
	for _, f := range []string{k.Identity, k.hostKey} {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleettest", "-f", f).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(k.Identity + ".pub")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.authKeys, pub, 0o600); err != nil {
		return nil, err
	}
	hostPub, err := os.ReadFile(k.hostKey + ".pub")
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(hostPub))
	if len(fields) < 2 {
		return nil, fmt.Errorf("unexpected host key %q", hostPub)
	}
	line := HostKeyAlias + " " + fields[0] + " " + fields[1] + "\n"
	if err := os.WriteFile(k.KnownHosts, []byte(line), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// SSHArgs returns the ssh options that reach the test servers: the
// throwaway identity, the known_hosts file and no interaction. They contain
// no spaces, so they also fit in NIX_SSHOPTS.
func (k *Keys) SSHArgs() []string {
	return []string{
		"-i", k.Identity,
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + k.KnownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "HostKeyAlias=" + HostKeyAlias,
		"-o", "LogLevel=ERROR",
		// The default post-quantum key exchange costs a third more CPU
		// per connection, and the tests open hundreds on a shared
		// machine.
		"-o", "KexAlgorithms=curve25519-sha256",
	}
}

// StartSSHD starts an sshd on 127.0.0.1 with a fresh port and root
// directory (made under t.TempDir unless root is non-empty) and waits until
// it accepts connections. It skips the test when sshd is missing, unless
// $CI is set.
func StartSSHD(t testing.TB, root string) *SSHD {
	t.Helper()
	RequireSSHD(t)
	k := SSHKeys(t)
	if root == "" {
		root = t.TempDir()
	}
	s, err := Start(k, root, t.TempDir())
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts an sshd on 127.0.0.1 with a fresh port, serving sessions
// that see root as $FLEET_TEST_ROOT and accepting the client key of k. Its
// configuration and log go in dir. It is StartSSHD for callers without a
// testing.TB, such as testscript commands: they must call Stop.
func Start(k *Keys, root, dir string) (*SSHD, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// Debian's sshd refuses to start without its privilege
		// separation directory, which only the service unit creates.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &SSHD{Addr: "127.0.0.1", Port: port, User: u.Username, Root: root, keys: k,
			log: filepath.Join(dir, "sshd.log"), exited: make(chan struct{})}
		cfg := filepath.Join(dir, "sshd_config")
		conf := strings.Join([]string{
			"ListenAddress 127.0.0.1",
			"Port " + strconv.Itoa(port),
			"HostKey " + k.hostKey,
			"AuthorizedKeysFile " + k.authKeys,
			"PidFile none",
			"StrictModes no",
			"UsePAM no",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PermitRootLogin prohibit-password",
			"MaxStartups 200",
			"MaxSessions 100",
			"SetEnv FLEET_TEST_ROOT=" + root,
			"LogLevel ERROR",
		}, "\n") + "\n"
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		logf, err := os.Create(s.log)
		if err != nil {
			return nil, err
		}
		s.cmd = exec.Command(SSHDPath, "-D", "-e", "-f", cfg)
		s.cmd.Stdout = logf
		s.cmd.Stderr = logf
		// Its own process group, so Kill can reach it whole; and killed
		// with the test binary, so a test that panics or times out
		// leaves no server behind.
		s.cmd.SysProcAttr = serverAttr()
		if err := s.cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("starting sshd: %v", err)
		}
		logf.Close()
		go func() { s.cmd.Wait(); close(s.exited) }()
		if waitListening(s.Addr, port, s.exited) {
			return s, nil
		}
		s.Stop()
		if attempt == 2 {
			b, _ := os.ReadFile(s.log)
			return nil, fmt.Errorf("sshd did not start: %s", b)
		}
	}
}

// Stop kills the server, as Kill does, and waits for it to exit.
func (s *SSHD) Stop() {
	s.Kill()
	if s.exited != nil {
		<-s.exited
	}
}

// waitListening polls until addr:port accepts a connection, or the server
// exits, or ten seconds pass.
func waitListening(addr string, port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Kill stops the server and cuts every connection it is serving, as a
// host dropping off the network would: the listener and its per-connection
// sshd processes are killed, while the commands those sessions started in
// sessions of their own keep running. The host is unreachable afterwards.
func (s *SSHD) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.killed = true
	pid := s.cmd.Process.Pid
	// Per-connection sshd processes are children of the listener that
	// have left its process group, so find them through /proc.
	for _, child := range sshdChildren(pid) {
		syscall.Kill(child, syscall.SIGKILL)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
}

// sshdChildren returns the descendants of pid whose command is sshd.
func sshdChildren(pid int) []int {
	parent := map[int]int{}
	name := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := bytes.LastIndexByte(b, ')')
		j := bytes.IndexByte(b, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
		name[p] = string(b[j+1 : i])
	}
	var out []int
	for p := range parent {
		if !strings.HasPrefix(name[p], "sshd") {
			continue
		}
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
