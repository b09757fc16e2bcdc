package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// secretsUsedBy returns, for each secret a host's configuration refers to
// (a $secret marker anywhere in what fleet generates for it: its computed
// and derived NixOS configuration, its free-form nixos and its users'
// home configurations), the hosts that use it.
func secretsUsedBy(hosts []emit.Host) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, h := range hosts {
		used := map[string]bool{}
		emit.FindSecrets(h.NixOS, used)
		emit.FindSecrets(h.Derived, used)
		emit.FindSecrets(h.Extra, used)
		for _, u := range h.Users {
			emit.FindSecrets(u.Home, used)
		}
		for s := range used {
			if out[s] == nil {
				out[s] = map[string]bool{}
			}
			out[s][h.Name] = true
		}
	}
	return out
}

// hostKeys returns the SSH host key (deploy.hostKey) of each host that
// has one.
func (f *Fleet) hostKeys() (map[string]string, error) {
	facts, err := f.hostSecretFacts()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, h := range f.hosts {
		if k := facts[i].HostKey; k != nil {
			out[h.Name] = *k
		}
	}
	return out, nil
}

// recipientsOf returns who may decrypt secret sv: the SSH keys of its
// declared users, the host keys of the hosts that use it (usedBy) or that
// it names, and the administrators' keys. A host without a host key
// cannot be a recipient; recipientsOf leaves it out (fleetgen secrets
// status reports it).
func recipientsOf(sv secretValue, users map[string]map[string]any, usedBy map[string]bool, hostKeys, adminKeys map[string]string) []emit.Recipient {
	var out []emit.Recipient
	for _, u := range sortedNames(sv.Recipients.Users) {
		if !sv.Recipients.Users[u] {
			continue
		}
		keys, _ := users[u]["sshKeys"].(map[string]any)
		for _, k := range sortedNames(keys) {
			if key, ok := keys[k].(string); ok {
				out = append(out, emit.Recipient{Name: "user " + u + " (" + k + ")", Key: key})
			}
		}
	}
	hosts := map[string]bool{}
	for h := range usedBy {
		hosts[h] = true
	}
	for h, on := range sv.Recipients.Hosts {
		if on {
			hosts[h] = true
		}
	}
	for _, h := range sortedNames(hosts) {
		if k, ok := hostKeys[h]; ok {
			out = append(out, emit.Recipient{Name: "host " + h, Key: k})
		}
	}
	for _, a := range sortedNames(adminKeys) {
		out = append(out, emit.Recipient{Name: "admin " + a, Key: adminKeys[a]})
	}
	return out
}

// A SecretStatus is the state of one secret: declared in the fleet, its
// encrypted file, the hosts that use it and whether its file must be
// rekeyed. An encrypted file no secret declares has a status too, with
// Declared false.
type SecretStatus struct {
	// Name is the secret's name; for an undeclared file, the file's name
	// without ".age".
	Name string
	// File is the encrypted file, relative to the fleet's root,
	// slash-separated.
	File string
	// Declared says the fleet declares the secret.
	Declared bool
	// Present says the encrypted file exists.
	Present bool
	// Hosts are the hosts whose configuration uses the secret, sorted.
	Hosts []string
	// Recipients name who may decrypt it ("host p620", "user alice
	// (laptop)", "admin ops"), sorted.
	Recipients []string
	// Rekey says the recipients differ from those of the agenix rules on
	// disk (nix/secrets/secrets.nix as last generated), or the rules do
	// not list the file: run fleetgen, then agenix --rekey.
	Rekey bool
	// NoHostKey are hosts that use the secret but have no deploy.hostKey,
	// so they cannot decrypt it.
	NoHostKey []string
	// ReadableBy lists "host: mode" for each host that decrypts the
	// secret with a mode other users may read.
	ReadableBy []string
}

// Missing says the secret is declared but its encrypted file is absent.
func (s *SecretStatus) Missing() bool { return s.Declared && !s.Present }

// Unused says the secret is declared and no host uses it, or its file is
// present and no secret declares it.
func (s *SecretStatus) Unused() bool { return len(s.Hosts) == 0 }

// Problem says the status needs attention: missing, unused, to rekey,
// undecryptable by a host that uses it, or readable by other users.
func (s *SecretStatus) Problem() bool {
	return s.Missing() || s.Unused() || s.Rekey || len(s.NoHostKey) > 0 || len(s.ReadableBy) > 0
}

// SecretsStatus compares the fleet's declared secrets with the encrypted
// files under settings.secretsDir and with the agenix rules file on disk
// under the output directory, sorted by name.
func (f *Fleet) SecretsStatus() ([]SecretStatus, error) {
	s, err := f.settings()
	if err != nil {
		return nil, err
	}
	out := s.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(f.l.ModRoot, out)
	}
	rulesPath := filepath.Join(out, "secrets", "secrets.nix")
	var haveRules map[string][]string
	if src, err := os.ReadFile(rulesPath); err == nil {
		if haveRules, err = agenixRules(rulesPath, src); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	facts, err := f.hostSecretFacts()
	if err != nil {
		return nil, err
	}
	usedBy := map[string]map[string]bool{}
	keys := map[string]string{}
	modes := map[string]map[string]string{}
	users := f.fleetUsers()
	// A user's value on the last host that has it, as merged there:
	// only that one is decoded.
	last := map[string]json.RawMessage{}
	for i, h := range f.hosts {
		hs := &facts[i]
		for _, name := range hs.Used {
			if usedBy[name] == nil {
				usedBy[name] = map[string]bool{}
			}
			usedBy[name][h.Name] = true
		}
		if hs.HostKey != nil {
			keys[h.Name] = *hs.HostKey
		}
		if hs.Modes != nil {
			modes[h.Name] = hs.Modes
		}
		for n, b := range hs.Users {
			last[n] = b
		}
	}
	for _, n := range sortedNames(last) {
		m, err := decodeObject(last[n])
		if err != nil {
			return nil, err
		}
		users[n] = m
	}
	dir := filepath.Join(f.l.ModRoot, filepath.FromSlash(s.SecretsDir))
	onDisk := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".age") {
			rel, _ := filepath.Rel(dir, p)
			onDisk[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	var res []SecretStatus
	for _, name := range sortedNames(f.l.Secrets) {
		sv, err := f.secret(name)
		if err != nil {
			return nil, err
		}
		st := SecretStatus{Name: name, File: path.Join(s.SecretsDir, sv.File), Declared: true, Present: onDisk[sv.File]}
		delete(onDisk, sv.File)
		st.Hosts = sortedNames(usedBy[name])
		for _, h := range st.Hosts {
			if _, ok := keys[h]; !ok {
				st.NoHostKey = append(st.NoHostKey, h)
			}
			if m := modes[h][name]; m == "" && readableByOthers(sv.Mode) {
				st.ReadableBy = append(st.ReadableBy, h+": "+sv.Mode)
			} else if readableByOthers(m) {
				st.ReadableBy = append(st.ReadableBy, h+": "+m)
			}
		}
		var want []string
		for _, r := range recipientsOf(sv, users, usedBy[name], keys, s.AdminKeys) {
			st.Recipients = append(st.Recipients, r.Name)
			want = append(want, r.Key)
		}
		have, ok := lookupRule(haveRules, sv.File)
		st.Rekey = st.Present && (!ok || !sameKeys(want, have))
		res = append(res, st)
	}
	for _, file := range sortedNames(onDisk) {
		res = append(res, SecretStatus{Name: strings.TrimSuffix(file, ".age"), File: path.Join(s.SecretsDir, file), Present: true})
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

// readableByOthers says an octal mode lets users other than the owner
// and group read the file.
func readableByOthers(mode string) bool {
	return mode != "" && mode[len(mode)-1] != '0'
}

// settings returns the fleet's settings.
func (f *Fleet) settings() (settings, error) {
	var s settings
	err := json.Unmarshal(f.l.Settings, &s)
	return s, err
}

// fleetUsers returns the fleet's user accounts as declared, by name.
func (f *Fleet) fleetUsers() map[string]map[string]any {
	users := map[string]map[string]any{}
	for name, b := range f.l.Users {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			users[name] = m
		}
	}
	return users
}

// secret returns the declared secret name.
func (f *Fleet) secret(name string) (secretValue, error) {
	f.secretsMu.Lock()
	defer f.secretsMu.Unlock()
	if sv, ok := f.secrets[name]; ok {
		return sv, nil
	}
	var sv secretValue
	if err := json.Unmarshal(f.l.Secrets[name], &sv); err != nil {
		return sv, fmt.Errorf("secret %s: %v", name, err)
	}
	if f.secrets == nil {
		f.secrets = map[string]secretValue{}
	}
	f.secrets[name] = sv
	return sv, nil
}

// agenixRules reads the public keys of each file of an agenix rules file
// as fleet generates it: { "<path>.age".publicKeys = [ "<key>" ... ]; }.
func agenixRules(name string, src []byte) (map[string][]string, error) {
	out := map[string][]string{}
	f, errs := syntax.Parse(name, src)
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	set, ok := f.Expr.(*syntax.AttrSet)
	if !ok {
		return nil, fmt.Errorf("%s: not an attribute set", name)
	}
	for _, b := range set.Bindings {
		a, ok := b.(*syntax.Attr)
		if !ok || len(a.Path.Names) != 2 {
			continue
		}
		file, ok1 := attrName(a.Path.Names[0])
		field, ok2 := attrName(a.Path.Names[1])
		list, ok3 := a.Value.(*syntax.List)
		if !ok1 || !ok2 || !ok3 || field != "publicKeys" {
			continue
		}
		var keys []string
		for _, e := range list.Elems {
			if s, ok := e.(*syntax.String); ok {
				if k, err := syntax.StringValue(s); err == nil {
					keys = append(keys, k)
				}
			}
		}
		out[file] = keys
	}
	return out, nil
}

// attrName returns the static name of an attribute path element.
func attrName(n syntax.AttrName) (string, bool) {
	switch n := n.(type) {
	case *syntax.Ident:
		return n.Tok.Text, true
	case *syntax.String:
		s, err := syntax.StringValue(n)
		return s, err == nil
	}
	return "", false
}

// lookupRule finds the rule of the .age file file (relative to the
// secrets directory): the rules name it by its path from the rules file.
func lookupRule(rules map[string][]string, file string) ([]string, bool) {
	for k, r := range rules {
		if k == file || strings.HasSuffix(k, "/"+file) {
			return r, true
		}
	}
	return nil, false
}

// sameKeys says a and b hold the same keys, in any order.
func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SecretWarnings returns what keeps hosts from decrypting their secrets,
// as warnings at the user's lines: a declared secret used by a host whose
// encrypted file does not exist; a host that uses secrets and has no
// deploy.hostKey, so agenix cannot encrypt to it; a secret with no
// recipient at all. None stops generation: the files and keys come from
// outside the fleet, and fleetgen secrets status lists the same. The
// fleet must be loaded with Config.NixOS, so that every secret a host's
// configuration uses is known.
func (f *Fleet) SecretWarnings() (Errors, error) {
	sts, err := f.SecretsStatus()
	if err != nil {
		return nil, err
	}
	var out diag.List
	noKey := map[string][]string{}
	for i := range sts {
		s := &sts[i]
		if !s.Declared {
			continue
		}
		decl := f.l.Decls[formatPath([]string{"secrets", s.Name})]
		if s.Missing() && len(s.Hosts) > 0 {
			dir, key := f.agenixRules(s.File)
			out.Add(diag.Diagnostic{
				Severity: diag.Warning, Range: decl, Path: []string{"secrets", s.Name},
				Summary: fmt.Sprintf("secrets.%s: the encrypted file %s does not exist; %s cannot decrypt it", cueLabel(s.Name), s.File, someHosts(s.Hosts)),
				Detail:  fmt.Sprintf("create it once its recipients are right: run fleetgen ./..., then in %s: agenix -e %s", dir, key),
			})
		}
		if len(s.Recipients) == 0 && len(s.Hosts) > 0 {
			out.Add(diag.Diagnostic{
				Severity: diag.Warning, Range: decl, Path: []string{"secrets", s.Name},
				Summary: fmt.Sprintf("secrets.%s has no recipient: agenix can encrypt it to no key", cueLabel(s.Name)),
				Detail:  "give the hosts that use it a deploy.hostKey, or name users with sshKeys in its recipients, or set settings.adminKeys",
			})
		}
		for _, h := range s.NoHostKey {
			noKey[h] = append(noKey[h], s.Name)
		}
	}
	facts, err := f.hostSecretFacts()
	if err != nil {
		return nil, err
	}
	targets := map[string]string{}
	for i, h := range f.hosts {
		targets[h.Name] = facts[i].Target
	}
	for _, name := range sortedNames(noKey) {
		h := f.byName[name]
		if h == nil {
			continue
		}
		target := name
		if t := targets[name]; t != "" {
			target = t
		}
		out.Add(diag.Diagnostic{
			Severity: diag.Warning, Range: deployRange(h), Path: []string{"hosts", name, "deploy", "hostKey"},
			Summary: fmt.Sprintf("hosts.%s.deploy.hostKey is not set: %s uses %s but cannot decrypt %s", cueLabel(name), name,
				plural(len(noKey[name]), "secret", "secrets")+" "+strings.Join(noKey[name], ", "), plural(len(noKey[name]), "it", "them")),
			Detail: fmt.Sprintf("set deploy.hostKey to the host's /etc/ssh/ssh_host_ed25519_key.pub (ssh-keyscan -t ed25519 %s prints it),\nthen re-encrypt: %s", target, f.rekeyHint()),
		})
	}
	out.Sort()
	return fromDiag(out), nil
}

// someHosts names the hosts, the first five of a longer list and how many
// others: a warning about a secret a thousand hosts use stays one line
// (fleetgen secrets status lists them all).
func someHosts(names []string) string {
	const shown = 5
	if len(names) <= shown+1 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d other hosts", strings.Join(names[:shown], ", "), len(names)-shown)
}

// agenixRules returns where agenix runs for the secret file (relative to
// the module's root, as SecretStatus.File): the directory of the
// generated rules, nix/secrets, where RULES is agenix's default
// ./secrets.nix, and the file as those rules name it, relative to that
// directory (../../secrets/x.age), which is what agenix -e must be given.
func (f *Fleet) agenixRules(file string) (dir, key string) {
	out := "nix"
	if s, err := f.settings(); err == nil && s.Output != "" {
		out = s.Output
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(f.l.ModRoot, out)
	}
	rules := filepath.Join(out, "secrets")
	dir, key = filepath.ToSlash(rules), file
	if rel, err := filepath.Rel(f.l.ModRoot, rules); err == nil {
		dir = filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(rules, filepath.Join(f.l.ModRoot, filepath.FromSlash(file))); err == nil {
		key = filepath.ToSlash(rel)
	}
	return dir, key
}

// rekeyHint says how to re-encrypt the fleet's secrets to their
// recipients after fleetgen wrote the rules.
func (f *Fleet) rekeyHint() string {
	dir, _ := f.agenixRules("")
	return fmt.Sprintf("run fleetgen ./..., then in %s: agenix --rekey", dir)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
