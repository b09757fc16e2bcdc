package fleet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
)

// InitOptions say what Init writes beyond the CUE module and the schema:
// the fleet's first host and the person who administers it.
type InitOptions struct {
	// Host names the first host; it is also the address fleetgen reaches
	// it at over SSH until deploy.targetHost says otherwise. Default
	// "example".
	Host string
	// User is the login name of the person who administers the fleet: a
	// wheel user of the host. Default "admin".
	User string
	// SSHKey is User's OpenSSH public key, a line as in ~/.ssh/id_*.pub.
	// Without one, User logs in with the password of the secret
	// <User>-password only.
	SSHKey string
}

// The names Init gives the files it writes, in the order it lists them.
var initFiles = []string{"fleet.cue", "inputs.cue", "users.cue", "secrets.cue", "hosts.cue"}

// InitFiles returns the names of the fleet's files Init writes beside
// cue.mod.
func InitFiles() []string { return append([]string(nil), initFiles...) }

var (
	moduleNameRx = regexp.MustCompile(`[^a-z0-9-]+`)
	hostNameRx   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	userNameRx   = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	keyNameRx    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// sshKeyTypes are the key types of OpenSSH public keys.
var sshKeyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ssh-dss": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// ParseSSHKey checks that line is an OpenSSH public key ("ssh-ed25519
// AAAA… comment") and returns it without surrounding white space.
func ParseSSHKey(line string) (string, error) {
	line = strings.TrimSpace(line)
	f := strings.Fields(line)
	if len(f) < 2 || !sshKeyTypes[f[0]] {
		return "", fmt.Errorf("not an OpenSSH public key (want a line such as \"ssh-ed25519 AAAA… you@laptop\"): %q", clip(line, 40))
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4 {
		return "", fmt.Errorf("the %s key's data is not base64: %q", f[0], clip(f[1], 20))
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return "", errors.New("an SSH public key is one line")
	}
	return line, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Init creates a new fleet in dir with InitWith's defaults.
func Init(dir string) error { return InitWith(dir, InitOptions{}) }

// InitWith creates a new fleet in dir: cue.mod/module.cue, the vendored
// schema, and a starter fleet that fleetgen vet and cue vet accept and
// whose generated flake evaluates: the flake inputs (nixpkgs and
// home-manager of NixOS 25.05, agenix), one host with its boot loader and
// file systems, its administrator with a way to log in, and a secret,
// their password hash, with its recipients and how to create its file. It
// refuses to touch a directory that already holds a CUE module or any of
// the files it would write.
func InitWith(dir string, opts InitOptions) error {
	if err := opts.Check(); err != nil {
		return err
	}
	opts = opts.withDefaults()
	if opts.SSHKey != "" {
		opts.SSHKey, _ = ParseSSHKey(opts.SSHKey)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "cue.mod")); err == nil {
		return fmt.Errorf("%s already holds a CUE module (cue.mod exists); use \"fleetgen schema sync\" to refresh its schema", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, f := range initFiles {
		if _, err := os.Stat(filepath.Join(abs, f)); err == nil {
			return fmt.Errorf("%s already exists; fleetgen init writes only into a new directory", filepath.Join(dir, f))
		}
	}
	name := strings.Trim(moduleNameRx.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
	if name == "" {
		name = "fleet"
	}
	if err := os.MkdirAll(filepath.Join(abs, "cue.mod"), 0o755); err != nil {
		return err
	}
	files := []struct{ name, text string }{
		{"cue.mod/module.cue", fmt.Sprintf("module: %q\nlanguage: version: \"v0.17.0\"\n", "fleet.local/"+name+"@v0")},
		{"fleet.cue", starterFleet},
		{"inputs.cue", starterInputs},
		{"users.cue", starterUsers(opts)},
		{"secrets.cue", starterSecrets(opts)},
		{"hosts.cue", starterHosts(opts)},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(abs, filepath.FromSlash(f.name)), []byte(f.text)); err != nil {
			return err
		}
	}
	return writeSchema(abs)
}

func (o InitOptions) withDefaults() InitOptions {
	if o.Host == "" {
		o.Host = "example"
	}
	if o.User == "" {
		o.User = "admin"
	}
	return o
}

// Check reports what is wrong with o: a host or user name the schema does
// not take (root is no administrator's login), or a line that is no
// OpenSSH public key.
func (o InitOptions) Check() error {
	o = o.withDefaults()
	if !hostNameRx.MatchString(o.Host) {
		return fmt.Errorf("host name %q: lower-case letters, digits and '-', at most 63, not starting or ending with '-'", o.Host)
	}
	if !userNameRx.MatchString(o.User) || o.User == "root" {
		return fmt.Errorf("user name %q: a login name other than root, of lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32", o.User)
	}
	if o.SSHKey != "" {
		if _, err := ParseSSHKey(o.SSHKey); err != nil {
			return err
		}
	}
	return nil
}

// cueString writes s as a CUE string literal.
func cueString(s string) string { return literal.String.Quote(s) }

// cueLabelOf writes s as a CUE label: an identifier as it is, anything
// else quoted.
func cueLabelOf(s string) string {
	if ast.IsValidIdent(s) && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "_") {
		return s
	}
	return cueString(s)
}

// passwordSecret is the secret holding a user's password hash.
func passwordSecret(user string) string { return user + "-password" }

const starterFleet = `// The fleet: hosts, templates, hardware profiles, home-manager profiles
// and users, checked against the fleet schema by cue vet and fleetgen.
// fleetgen doc lists every field; fleetgen doc PATH says what one takes.
package fleet

import "` + SchemaImportPath + `"

schema.#Fleet
`

const starterInputs = `package fleet

// The inputs of the generated flake (nix/flake.nix), of NixOS 25.05:
// nixpkgs and home-manager on their release branches; agenix, which has
// no release branches, follows this nixpkgs. fleetgen check locks their
// revisions in nix/flake.lock.
settings: inputs: {
	nixpkgs: url: "github:NixOS/nixpkgs/nixos-25.05"
	"home-manager": {
		url: "github:nix-community/home-manager/release-25.05"
		follows: nixpkgs: "nixpkgs"
		nixosModules: "nixosModules.home-manager": true
	}
	agenix: {
		url: "github:ryantm/agenix"
		follows: nixpkgs: "nixpkgs"
		nixosModules: "nixosModules.default": true
	}
}
`

func starterUsers(o InitOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, `package fleet

// users are the people of the fleet, by login name; a host gives one an
// account with users: <name>: {} (hosts.cue).
users: %s: {
	// wheel may use sudo.
	groups: wheel: true
`, cueLabelOf(o.User))
	if o.SSHKey != "" {
		fmt.Fprintf(&b, `	// sshKeys are the keys %s logs in with over SSH, by name.
	sshKeys: %s: %s
`, o.User, cueLabelOf(keyName(o.SSHKey)), cueString(o.SSHKey))
	}
	fmt.Fprintf(&b, `	// hashedPassword is the password hash for the console and sudo: an
	// agenix secret (secrets.cue), never a literal.
	hashedPassword: $secret: %s
}
`, cueString(passwordSecret(o.User)))
	return b.String()
}

// keyName names an SSH key in a user's sshKeys: after the machine its
// comment names (you@laptop: laptop), else "key".
func keyName(key string) string {
	f := strings.Fields(key)
	if len(f) >= 3 {
		c := f[2]
		if i := strings.LastIndex(c, "@"); i >= 0 {
			c = c[i+1:]
		}
		if keyNameRx.MatchString(c) {
			return c
		}
	}
	return "key"
}

func starterSecrets(o InitOptions) string {
	s := passwordSecret(o.User)
	return fmt.Sprintf(`package fleet

// secrets are agenix secrets, each encrypted in secrets/<name>.age to its
// recipients: the hosts that use it (by their deploy.hostKey) and the
// users named here (by their sshKeys), who may edit it. Create the file
// once the recipients are right:
//
//	fleetgen ./...
//	cd nix/secrets && mkpasswd -m yescrypt | agenix -e ../../secrets/%s.age
//
// (agenix reads the rules fleetgen writes, nix/secrets/secrets.nix.)
secrets: %s: recipients: users: %s: true
`, s, cueString(s), cueLabelOf(o.User))
}

func starterHosts(o InitOptions) string {
	return fmt.Sprintf(`package fleet

// hosts are the machines of the fleet, by host name.
hosts: %[1]s: {
	// stateVersion is the NixOS release the host was first installed with;
	// never change it on an installed host.
	stateVersion: "25.05"
	// deploy says how fleetgen reaches the host: over SSH at targetHost,
	// as root (targetUser), with a key root accepts. hostKey, the host's
	// /etc/ssh/ssh_host_ed25519_key.pub, lets it decrypt its secrets.
	deploy: targetHost: %[2]s
	// hardware describes the machine. On an installed host, fleetgen
	// import hardware reads it from hardware-configuration.nix:
	//
	//	fleetgen import hardware hardware-configuration.nix --host %[3]s -o hosts.cue
	hardware: {
		// A UEFI machine boots with systemd-boot from its EFI system
		// partition, mounted at /boot; a BIOS machine uses "grub", with
		// grub: devices: "/dev/disk/by-id/<disk>": true.
		boot: loader: "systemd-boot"
		// The file systems by the labels the NixOS manual's installation
		// gives them: nixos, and boot for the EFI system partition.
		fileSystems: {
			"/": {device: "/dev/disk/by-label/nixos", fsType: "ext4"}
			"/boot": {device: "/dev/disk/by-label/boot", fsType: "vfat"}
		}
	}
	// users are the fleet's users who have an account here.
	users: %[4]s: {}
}
`, cueLabelOf(o.Host), cueString(o.Host), o.Host, cueLabelOf(o.User))
}
