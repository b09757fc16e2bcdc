package fleet

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
)

// An ageHeader is what the header of an age file says of its recipients:
// the tags of the SSH keys it is encrypted to. An SSH recipient's stanza
// names its key by a tag, the first four bytes of the SHA-256 of the key
// in SSH wire form; other stanzas (X25519, plugins) name no key this way.
type ageHeader struct {
	sshTags map[string]bool
	// others counts stanzas that are not for an SSH key.
	others int
}

const (
	ageIntro     = "age-encryption.org/v1"
	ageArmorHead = "-----BEGIN AGE ENCRYPTED FILE-----"
	ageArmorTail = "-----END AGE ENCRYPTED FILE-----"
)

// readAgeHeader reads the recipients of the age file src, binary or
// armored (age -a).
func readAgeHeader(src []byte) (*ageHeader, error) {
	if bytes.HasPrefix(bytes.TrimLeft(src, " \t\r\n"), []byte(ageArmorHead)) {
		s := string(bytes.TrimSpace(src))
		s = strings.TrimPrefix(s, ageArmorHead)
		s, _, ok := strings.Cut(s, ageArmorTail)
		if !ok {
			return nil, errors.New("an armored age file without its end line")
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, fmt.Errorf("an armored age file: %v", err)
		}
		src = b
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() || sc.Text() != ageIntro {
		return nil, errors.New("not an age file (no " + ageIntro + " line)")
	}
	h := &ageHeader{sshTags: map[string]bool{}}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			return h, nil
		}
		args, ok := strings.CutPrefix(line, "-> ")
		if !ok {
			continue // a stanza's body
		}
		f := strings.Fields(args)
		if len(f) >= 2 && (f[0] == "ssh-ed25519" || f[0] == "ssh-rsa") {
			h.sshTags[f[1]] = true
		} else {
			h.others++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("an age header without its end (---)")
}

// sshKeyTag returns the tag age gives the SSH public key line key in a
// recipient stanza.
func sshKeyTag(key string) (string, error) {
	f := strings.Fields(key)
	if len(f) < 2 {
		return "", fmt.Errorf("not an SSH public key: %q", key)
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return "", fmt.Errorf("SSH public key: %v", err)
	}
	sum := sha256.Sum256(blob)
	return base64.RawStdEncoding.EncodeToString(sum[:4]), nil
}

// checkDecryptable refuses to deploy a host a secret it cannot decrypt:
// agenix decrypts a host's secrets at activation with its SSH host key, so
// a host without deploy.hostKey, a secret without its encrypted file, or
// a file encrypted to keys that leave out the host's would each fail
// there, on the target, after the new system was copied. patterns select
// the hosts as for Select. Each problem is reported at the user's line.
func (f *Fleet) checkDecryptable(patterns []string) error {
	sel, err := f.Select(patterns...)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, h := range sel {
		want[h.Name] = true
	}
	sts, err := f.SecretsStatus()
	if err != nil {
		return err
	}
	keys, err := f.hostKeys()
	if err != nil {
		return err
	}
	var out diag.List
	headers := map[string]*ageHeader{}
	for i := range sts {
		s := &sts[i]
		if !s.Declared {
			continue
		}
		decl := f.l.Decls[formatPath([]string{"secrets", s.Name})]
		for _, name := range s.Hosts {
			if !want[name] {
				continue
			}
			h := f.byName[name]
			key, ok := keys[name]
			switch {
			case !ok:
				out.Add(diag.Diagnostic{Severity: diag.Error, Range: deployRange(h), Path: []string{"hosts", name, "deploy", "hostKey"},
					Summary: fmt.Sprintf("%s uses secret %s but has no deploy.hostKey, so it cannot decrypt it", name, s.Name),
					Detail:  "set deploy.hostKey to the host's /etc/ssh/ssh_host_ed25519_key.pub (ssh-keyscan -t ed25519 prints it), then re-encrypt: " + f.rekeyHint()})
				continue
			case !s.Present:
				dir, key := f.agenixRules(s.File)
				out.Add(diag.Diagnostic{Severity: diag.Error, Range: decl, Path: []string{"secrets", s.Name},
					Summary: fmt.Sprintf("secret %s has no encrypted file %s; %s cannot decrypt it", s.Name, s.File, name),
					Detail:  fmt.Sprintf("encrypt it: run fleetgen ./..., then in %s: agenix -e %s", dir, key)})
				continue
			}
			hd, seen := headers[s.File]
			if !seen {
				src, err := os.ReadFile(filepath.Join(f.l.ModRoot, filepath.FromSlash(s.File)))
				if err == nil {
					hd, err = readAgeHeader(src)
				}
				if err != nil {
					out.Add(diag.Diagnostic{Severity: diag.Error, Range: decl, Path: []string{"secrets", s.Name},
						Summary: fmt.Sprintf("secret %s: reading %s: %v", s.Name, s.File, err)})
				}
				headers[s.File] = hd
			}
			if hd == nil {
				continue
			}
			tag, err := sshKeyTag(key)
			if err != nil || !hd.sshTags[tag] {
				out.Add(diag.Diagnostic{Severity: diag.Error, Range: decl, Path: []string{"secrets", s.Name},
					Summary: fmt.Sprintf("%s is not encrypted to %s's host key, so %s cannot decrypt it", s.File, name, name),
					Detail:  "re-encrypt it to its recipients: " + f.rekeyHint()})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	out.Sort()
	return fromDiag(out)
}

// deployRange returns where h's deploy settings are written, or where h
// is declared.
func deployRange(h *Host) diag.Range {
	if n := h.tree().Lookup("deploy"); n != nil && n.Decl() != nil && n.Decl().Range.Start.IsValid() {
		return n.Decl().Range
	}
	return h.h.Decl
}
