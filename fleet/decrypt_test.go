package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAgeHeader reads the recipients of files age itself encrypted,
// binary and armored, and matches them to the SSH keys they were
// encrypted to, and not to another.
func TestReadAgeHeader(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "age", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tag := func(pub string) string {
		s, err := sshKeyTag(strings.TrimSpace(read(pub)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	web, db := tag("web.pub"), tag("db.pub")
	for _, c := range []struct {
		file    string
		web, db bool
	}{{"to-web.age", true, false}, {"to-both.age", true, true}} {
		h, err := readAgeHeader([]byte(read(c.file)))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if h.sshTags[web] != c.web || h.sshTags[db] != c.db {
			t.Errorf("%s: encrypted to web %v, db %v; want %v, %v", c.file, h.sshTags[web], h.sshTags[db], c.web, c.db)
		}
	}
	for _, bad := range []string{"", "secret", "age-encryption.org/v1\n-> ssh-ed25519 abc def\n", "-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n"} {
		if _, err := readAgeHeader([]byte(bad)); err == nil {
			t.Errorf("%q read as an age file", bad)
		}
	}
}
