package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fleetnix.dev/fleet/fleet"
)

const initArgs = "[DIR] [--host NAME] [--user NAME] [--ssh-key KEY|FILE]"

func init() {
	register(&command{name: "init", args: initArgs,
		short: "start a new fleet: CUE module, vendored schema, flake inputs, a host, its user and a secret",
		long: `init writes a new fleet into DIR (default: the current directory): the CUE
module and the schema vendored for editors and cue vet, the flake inputs
of NixOS 25.05 (inputs.cue), the administrator with an SSH key and a
password hash kept as an agenix secret (users.cue, secrets.cue), and one
host with its boot loader and file systems (hosts.cue). fleetgen vet
accepts it, and the flake fleetgen ./... writes from it evaluates.

Without --ssh-key, the user's key is the first of ~/.ssh/id_ed25519.pub,
id_ecdsa.pub and id_rsa.pub that exists; --ssh-key "" writes none.`,
		run: runInit})
}

// defaultKeys are the public keys init looks for in ~/.ssh, in order.
var defaultKeys = []string{"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"}

func runInit(e *env, args []string) int {
	fs := e.flags("init", initArgs)
	host := fs.String("host", "example", "the first host's `NAME`, also its SSH address until you change deploy.targetHost")
	user := fs.String("user", "admin", "the login `NAME` of the fleet's administrator")
	key := fs.String("ssh-key", "", "the administrator's OpenSSH public key: a `KEY` line, or a FILE holding one")
	rest, ok := parse(fs, args)
	if !ok {
		return e.parseFailed()
	}
	dir := "."
	switch len(rest) {
	case 0:
	case 1:
		dir = rest[0]
	default:
		return e.usageErr("init", "one directory at a time, got %d", len(rest))
	}
	keySet := false
	fs.Visit(func(f *flag.Flag) { keySet = keySet || f.Name == "ssh-key" })
	opts := fleet.InitOptions{Host: *host, User: *user}
	from := ""
	switch {
	case keySet && *key == "":
	case keySet:
		if k, err := fleet.ParseSSHKey(*key); err == nil {
			opts.SSHKey = k
		} else if strings.HasPrefix(strings.TrimSpace(*key), "ssh-") || strings.HasPrefix(strings.TrimSpace(*key), "ecdsa-") {
			return e.usageErr("init", "--ssh-key: %v", err)
		} else {
			k, err := readKeyFile(*key)
			if err != nil {
				return e.usageErr("init", "--ssh-key: %v", err)
			}
			opts.SSHKey, from = k, *key
		}
	default:
		if home, err := os.UserHomeDir(); err == nil {
			for _, name := range defaultKeys {
				p := filepath.Join(home, ".ssh", name)
				if k, err := readKeyFile(p); err == nil {
					opts.SSHKey, from = k, p
					break
				}
			}
		}
	}
	if err := opts.Check(); err != nil {
		return e.usageErr("init", "%v", err)
	}
	if err := fleet.InitWith(dir, opts); err != nil {
		return e.report(err)
	}
	fmt.Fprintf(e.stdout, "created a fleet in %s: cue.mod/module.cue, the schema in cue.mod/pkg/%s, %s\n",
		dir, fleet.SchemaImportPath, strings.Join(fleet.InitFiles(), ", "))
	switch {
	case from != "":
		fmt.Fprintf(e.stdout, "%s logs in with the SSH key of %s\n", opts.User, from)
	case opts.SSHKey != "":
		fmt.Fprintf(e.stdout, "%s logs in with the SSH key given\n", opts.User)
	default:
		fmt.Fprintf(e.stderr, "fleetgen init: no SSH key given or found (~/.ssh/%s): %s can log in only with the password of secret %s-password; add one to users.%s.sshKeys\n",
			strings.Join(defaultKeys, ", "), opts.User, opts.User, opts.User)
	}
	cd := ""
	if dir != "." {
		cd = "cd " + dir + " && "
	}
	fmt.Fprintf(e.stdout, "next: %sfleetgen vet && fleetgen ./...\n", cd)
	return exitOK
}

// readKeyFile reads an OpenSSH public key file: its first line that is
// not empty or a comment.
func readKeyFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := fleet.ParseSSHKey(line)
		if err != nil {
			return "", fmt.Errorf("%s: %v", name, err)
		}
		return k, nil
	}
	return "", fmt.Errorf("%s holds no key", name)
}
