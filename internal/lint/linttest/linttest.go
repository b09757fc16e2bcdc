// Package linttest runs lint rules over test files and checks their
// findings and fixes against expectations written next to the code.
//
// In testdata/<rule>/*.nix, a comment
//
//	# want "regexp" "another"
//
// expects one finding per regexp on the comment's line, each message
// matching its regexp; every finding must be expected and every
// expectation met. When x.nix.golden exists, the result of fixing x.nix
// with lint.FixSource must equal it, must fix nothing more when fixed
// again, and must parse at least as well as x.nix. When x.nix.txtar
// exists, each of its files is named by a fix message, and applying every
// fix with that message (suggestions included) must give its content.
// A file whose findings offer applicable fixes needs a golden file.
//
// With FLEET_UPDATE=1 in the environment, golden files are written
// instead of compared.
package linttest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/txtar"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// Testing is the part of *testing.T that Run needs.
type Testing interface {
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Helper()
}

var update = os.Getenv("FLEET_UPDATE") != ""

// Run checks rule r against every *.nix file of dir.
func Run(t Testing, dir string, r *lint.Rule) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.nix"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	if len(files) == 0 {
		t.Fatalf("%s: no test files", dir)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v", err)
		}
		checkFile(t, name, src, r)
	}
}

type want struct {
	line int
	rx   *regexp.Regexp
	met  bool
}

var wantRx = regexp.MustCompile(`^#\s*want\s+(.*)$`)

// wants returns the expectations written in f's comments.
func wants(t Testing, f *syntax.File) []*want {
	t.Helper()
	var out []*want
	syntax.Tokens(f, func(tok *syntax.Token) {
		for i := range tok.Leading {
			c := &tok.Leading[i]
			if c.Kind != syntax.LINECOMMENT {
				continue
			}
			m := wantRx.FindStringSubmatch(c.Text)
			if m == nil {
				continue
			}
			line := f.Position(c.Start).Line
			rest := strings.TrimSpace(m[1])
			for rest != "" {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					t.Errorf("%s:%d: bad want comment: %v", f.Name, line, err)
					return
				}
				s, _ := strconv.Unquote(q)
				rx, err := regexp.Compile(s)
				if err != nil {
					t.Errorf("%s:%d: bad want regexp: %v", f.Name, line, err)
					return
				}
				out = append(out, &want{line: line, rx: rx})
				rest = strings.TrimSpace(rest[len(q):])
			}
		}
	})
	return out
}

func checkFile(t Testing, name string, src []byte, r *lint.Rule) {
	t.Helper()
	f := lint.Parse(name, src)
	ws := wants(t, f.Syntax)
	diags := lint.Run([]*lint.Rule{r}, []*lint.File{f})
	fixable := false
	for _, d := range diags {
		matched := false
		for _, w := range ws {
			if !w.met && w.line == d.Range.Start.Line && w.rx.MatchString(d.Message) {
				w.met, matched = true, true
				break
			}
		}
		if !matched {
			t.Errorf("%s: unexpected finding: %s: %s", d.Range, d.Rule.ID, d.Message)
		}
		for _, fx := range d.Fixes {
			if fx.Applicable() {
				fixable = true
			}
			checkEdits(t, d, fx, len(src))
		}
	}
	for _, w := range ws {
		if !w.met {
			t.Errorf("%s:%d: no finding matched %q", name, w.line, w.rx)
		}
	}
	golden := name + ".golden"
	if _, err := os.Stat(golden); err == nil || (update && fixable) {
		checkGolden(t, name, golden, src, f, r)
	} else if fixable {
		t.Errorf("%s: findings offer fixes but %s does not exist", name, filepath.Base(golden))
	}
	alt := name + ".txtar"
	if _, err := os.Stat(alt); err == nil {
		checkAlternatives(t, name, alt, src, diags)
	}
}

func checkEdits(t Testing, d lint.Diagnostic, fx lint.Fix, size int) {
	t.Helper()
	if fx.Message == "" || strings.HasSuffix(fx.Message, ".") {
		t.Errorf("%s: fix message %q must be a verb phrase without a period", d.Range, fx.Message)
	}
	for i, e := range fx.Edits {
		if !e.Pos.IsValid() || e.End < e.Pos || e.End.Offset() > size {
			t.Errorf("%s: fix %q has an invalid edit [%d,%d)", d.Range, fx.Message, e.Pos, e.End)
		}
		for _, o := range fx.Edits[:i] {
			if e.Pos < o.End && o.Pos < e.End {
				t.Errorf("%s: fix %q has overlapping edits", d.Range, fx.Message)
			}
		}
	}
}

func checkGolden(t Testing, name, golden string, src []byte, f *lint.File, r *lint.Rule) {
	t.Helper()
	out, _, err := lint.FixSource([]*lint.Rule{r}, name, src)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if update {
		if err := os.WriteFile(golden, out, 0o666); err != nil {
			t.Errorf("%v", err)
		}
	} else if want, err := os.ReadFile(golden); err != nil {
		t.Errorf("%v", err)
	} else if !bytes.Equal(out, want) {
		t.Errorf("%s: fixed file differs from %s:\n--- got ---\n%s\n--- want ---\n%s", name, filepath.Base(golden), out, want)
	}
	g := lint.Parse(name, out)
	if len(g.Errors) > len(f.Errors) {
		t.Errorf("%s: fixed file does not parse: %v", name, g.Errors)
	}
	again, did, err := lint.FixSource([]*lint.Rule{r}, name, out)
	if err != nil || len(did) > 0 || !bytes.Equal(again, out) {
		t.Errorf("%s: fixing is not idempotent: a second run applied %d fixes (err %v)", name, len(did), err)
	}
}

func checkAlternatives(t Testing, name, alt string, src []byte, diags []lint.Diagnostic) {
	t.Helper()
	byMsg := map[string][]lint.TextEdit{}
	for _, d := range diags {
		for _, fx := range d.Fixes {
			byMsg[fx.Message] = append(byMsg[fx.Message], fx.Edits...)
		}
	}
	ar, err := txtar.ParseFile(alt)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if update {
		ar.Files = nil
		msgs := make([]string, 0, len(byMsg))
		for m := range byMsg {
			msgs = append(msgs, m)
		}
		sort.Strings(msgs)
		for _, m := range msgs {
			ar.Files = append(ar.Files, txtar.File{Name: m, Data: lint.Edit(src, byMsg[m])})
		}
		if err := os.WriteFile(alt, txtar.Format(ar), 0o666); err != nil {
			t.Errorf("%v", err)
		}
		return
	}
	for _, file := range ar.Files {
		edits, ok := byMsg[file.Name]
		if !ok {
			t.Errorf("%s: no fix %q was offered", name, file.Name)
			continue
		}
		if got := lint.Edit(src, edits); !bytes.Equal(got, file.Data) {
			t.Errorf("%s: fix %q gives:\n%s\nwant:\n%s", name, file.Name, got, file.Data)
		}
		delete(byMsg, file.Name)
	}
	for m := range byMsg {
		t.Errorf("%s: fix %q is offered but %s has no section for it", name, m, filepath.Base(alt))
	}
}
