package syntax

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// The oracle is real Nix: nix-instantiate --parse decides what parses and
// prints the normal form Show must reproduce. Without Nix the tests fall
// back to testdata/oracle.golden, recorded from Nix 2.8; with CI set a
// missing Nix is a failure.

var update = os.Getenv("FLEET_UPDATE") != ""

// requireNix returns the path of nix-instantiate, skipping the test when
// it is missing, or failing it when CI is set.
func requireNix(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but nix-instantiate is not on PATH (install Debian's nix-bin): %v", err)
		}
		t.Skipf("nix-instantiate not found; install Nix 2.8 (Debian's nix-bin) to run the differential test")
	}
	return p
}

func haveNix() bool {
	_, err := exec.LookPath("nix-instantiate")
	return err == nil
}

// wrap makes a case evaluable without free variables: Nix's --parse
// fails on unbound names, and with {} binds every name.
func wrap(src string) string { return "with {}; (" + src + "\n)" }

// A verdict is what a parser said about one input: accepted with its
// normal form, or rejected.
type verdict struct {
	ok  bool
	out string // normal form when ok, first error line otherwise
}

func (v verdict) String() string {
	if v.ok {
		return "ok\n" + v.out + "\n"
	}
	return "error\n" + v.out + "\n"
}

// nixVerdict runs nix-instantiate --parse on src saved as dir/case.nix.
func nixVerdict(dir, src string) (verdict, error) {
	file := filepath.Join(dir, "case.nix")
	if err := os.WriteFile(file, []byte(src), 0o666); err != nil {
		return verdict{}, err
	}
	cmd := exec.Command("nix-instantiate", "--parse", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return verdict{ok: true, out: strings.TrimSuffix(stdout.String(), "\n")}, nil
	case errors.As(err, &exit):
		line, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return verdict{ok: false, out: line}, nil
	}
	return verdict{}, err
}

// ourVerdict parses src as dir/case.nix and shows it.
func ourVerdict(dir, src string, opts ShowOptions) verdict {
	f, errs := Parse(filepath.Join(dir, "case.nix"), []byte(src))
	if len(errs) > 0 {
		return verdict{ok: false, out: errs[0].Error()}
	}
	opts.BaseDir = dir
	var b bytes.Buffer
	if err := Show(&b, f.Expr, opts); err != nil {
		return verdict{ok: false, out: err.Error()}
	}
	return verdict{ok: true, out: b.String()}
}

// canonical reparses a normal form and shows it with let bindings and
// formals sorted: Nix 2.8 orders those by the address of interned symbols.
func canonical(out string) (string, bool) {
	f, errs := Parse("", []byte(out))
	if len(errs) > 0 {
		return "", false
	}
	var b bytes.Buffer
	if err := Show(&b, f.Expr, ShowOptions{BaseDir: "/", Home: "/", SortUnordered: true}); err != nil {
		return "", false
	}
	return b.String(), true
}

// sameNormalForm compares two outputs of --parse style printing.
func sameNormalForm(a, b string) bool {
	if a == b {
		return true
	}
	ca, ok1 := canonical(a)
	cb, ok2 := canonical(b)
	return ok1 && ok2 && ca == cb
}

// agree compares our verdict with Nix's: the same acceptance, and the
// same normal form when accepted.
func agree(ours, nix verdict) bool {
	if ours.ok != nix.ok {
		return false
	}
	return !ours.ok || sameNormalForm(ours.out, nix.out)
}

func readCorpus(t *testing.T) *txtar.Archive {
	a, err := txtar.ParseFile("testdata/corpus.txtar")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// placeholders replaces the machine-specific directories in a normal form.
func placeholders(s, dir, home string) string {
	s = strings.ReplaceAll(s, dir, "$DIR")
	s = strings.ReplaceAll(s, filepath.Dir(dir), "$PARENT")
	if home != "" && home != "/" {
		s = strings.ReplaceAll(s, home, "$HOME")
	}
	return s
}

// TestOracle compares Parse and Show with nix-instantiate --parse over
// the corpus and every .nix file in the repository, and with the recorded
// golden results.
func TestOracle(t *testing.T) {
	nix := haveNix()
	if !nix && os.Getenv("CI") != "" {
		requireNix(t)
	}
	home, _ := os.UserHomeDir()
	corpus := readCorpus(t)
	files := corpus.Files
	// The repository's own .nix files (hand-written fixtures, generated
	// example trees) change with the code: they are compared with Nix
	// live when it is installed, and not recorded.
	nCorpus := len(files)
	if nix {
		files = append(files, repoNixFiles(t)...)
	}

	goldenPath := "testdata/oracle.golden"
	golden := map[string]string{}
	if a, err := txtar.ParseFile(goldenPath); err == nil {
		for _, f := range a.Files {
			golden[f.Name] = string(f.Data)
		}
	} else if !update {
		t.Fatalf("reading golden results: %v", err)
	}

	base := t.TempDir()
	results := make([]string, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // nix-instantiate is slow to start; keep a few in flight
	var mu sync.Mutex
	for i, f := range files {
		i, f := i, f
		dir := filepath.Join(base, fmt.Sprint(i), "d")
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		src := wrap(string(f.Data))
		ours := ourVerdict(dir, src, ShowOptions{Home: home})
		if !ours.ok {
			ours.out = "" // messages differ; acceptance is what is compared
		}
		ourRec := placeholders(ours.String(), dir, home)
		results[i] = ourRec
		if want, ok := golden[f.Name]; ok && !nix && !update {
			if !sameRecorded(ourRec, want) {
				t.Errorf("%s: ours differs from the recorded Nix result\nours: %s\nnix:  %s", f.Name, ourRec, want)
			}
		} else if !ok && !nix && !update {
			t.Errorf("%s: no recorded Nix result; run with Nix and FLEET_UPDATE=1", f.Name)
		}
		if !nix {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			theirs, err := nixVerdict(dir, src)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: running nix-instantiate: %v", f.Name, err)
				return
			}
			if !agree(ours, theirs) {
				t.Errorf("%s: disagreement with Nix\nsource: %s\nours: %s\nnix:  %s", f.Name, src, ours, theirs)
			}
			if !theirs.ok {
				theirs.out = ""
			}
			results[i] = placeholders(theirs.String(), dir, home)
		}()
	}
	wg.Wait()
	if nix && update {
		a := &txtar.Archive{Comment: []byte("Results of nix-instantiate --parse (Nix 2.8) on testdata/corpus.txtar,\nwrapped as `with {}; (FILE\\n)`. Regenerate with FLEET_UPDATE=1 where Nix is installed.\n")}
		for i, f := range files[:nCorpus] {
			a.Files = append(a.Files, txtar.File{Name: f.Name, Data: []byte(results[i])})
		}
		if err := os.WriteFile(goldenPath, txtar.Format(a), 0o666); err != nil {
			t.Fatal(err)
		}
	} else if nix {
		for i, f := range files[:nCorpus] {
			if want, ok := golden[f.Name]; !ok || !sameRecorded(results[i], want) {
				t.Errorf("%s: Nix's result differs from testdata/oracle.golden; run with FLEET_UPDATE=1\nnow: %s\nrecorded: %s", f.Name, results[i], want)
			}
		}
	}
}

// sameRecorded compares two recorded verdicts, allowing the let and
// formals order to differ.
func sameRecorded(a, b string) bool {
	if a == b {
		return true
	}
	ka, oa, _ := strings.Cut(a, "\n")
	kb, ob, _ := strings.Cut(b, "\n")
	if ka != kb {
		return false
	}
	ra := strings.NewReplacer("$DIR", "/DIR", "$PARENT", "/PARENT", "$HOME", "/HOME")
	return sameNormalForm(ra.Replace(strings.TrimSuffix(oa, "\n")), ra.Replace(strings.TrimSuffix(ob, "\n")))
}

// repoNixFiles returns every .nix file of the repository outside testdata
// directories, named by their path.
func repoNixFiles(t *testing.T) []txtar.File {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	var out []txtar.File
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".nix") {
			data, err := os.ReadFile(p)
			if err == nil {
				rel, _ := filepath.Rel(root, p)
				out = append(out, txtar.File{Name: "repo/" + filepath.ToSlash(rel), Data: data})
			}
		}
		return nil
	})
	return out
}
