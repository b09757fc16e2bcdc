package diag

import (
	"bytes"
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	for _, c := range []struct {
		name  string
		cands []string
		want  string
	}{
		{"deploi", []string{"deploy", "network", "features"}, "deploy"},
		{"sever", []string{"server", "laptop"}, "server"},
		{"Server", []string{"server"}, "server"},
		{"xyz", []string{"server", "laptop"}, ""},
		{"a", nil, ""},
		// A swap of two letters is one typo, nearer than a substitution
		// and a deletion.
		{"wbe", []string{"db", "laptop", "web"}, "web"},
	} {
		if got := Nearest(c.name, c.cands); got != c.want {
			t.Errorf("Nearest(%q, %v) = %q, want %q", c.name, c.cands, got, c.want)
		}
	}
}

func TestListSortDedupe(t *testing.T) {
	l := List{
		{Severity: Error, Range: Range{File: "b.cue", Start: Pos{Line: 1, Col: 1}}, Summary: "x"},
		{Severity: Error, Range: Range{File: "a.cue", Start: Pos{Line: 2, Col: 1}}, Summary: "y"},
		{Severity: Error, Range: Range{File: "a.cue", Start: Pos{Line: 1, Col: 5}}, Summary: "z"},
		{Severity: Error, Range: Range{File: "a.cue", Start: Pos{Line: 1, Col: 5}}, Summary: "z"},
	}
	l.Sort()
	var got []string
	for _, d := range l {
		got = append(got, d.Error())
	}
	want := "a.cue:1:5: z|a.cue:2:1: y|b.cue:1:1: x"
	if strings.Join(got, "|") != want {
		t.Errorf("sorted = %q, want %q", strings.Join(got, "|"), want)
	}
	if !l.HasErrors() || l.Err() == nil {
		t.Error("a list of errors reports none")
	}
	if (List{}).Err() != nil {
		t.Error("an empty list is an error")
	}
}

func TestPrinterSnippet(t *testing.T) {
	src := []byte("package fleet\n\nhosts: web: deploi: {}\n")
	p := &Printer{Cwd: "/w", Source: func(string) ([]byte, bool) { return src, true }}
	var b bytes.Buffer
	p.Fprint(&b, List{{
		Severity: Error,
		Range:    Range{File: "/w/hosts.cue", Start: Pos{Line: 3, Col: 13}, End: Pos{Line: 3, Col: 19}},
		Summary:  "hosts.web.deploi: field not allowed",
		Detail:   `did you mean "deploy"?`,
		Related:  []Related{{Range: Range{File: "/w/sub/schema.cue", Start: Pos{Line: 9, Col: 2}}, Message: "schema"}},
	}})
	want := `hosts.cue:3:13: error: hosts.web.deploi: field not allowed
    3 | hosts: web: deploi: {}
      |             ^^^^^^
    did you mean "deploy"?
    sub/schema.cue:9:2: schema
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestPrinterSnippetWindow checks that a snippet of a long line shows a
// window around the range, and that bytes a terminal would act on are
// shown as ?.
func TestPrinterSnippetWindow(t *testing.T) {
	long := strings.Repeat("a", 5000) + "BAD" + strings.Repeat("b", 5000)
	src := []byte("x\n" + long + "\nesc \x1b[31m\xff here\n")
	p := &Printer{Source: func(string) ([]byte, bool) { return src, true }}
	var b bytes.Buffer
	p.Fprint(&b, List{
		{Severity: Error, Range: Range{File: "f.nix", Start: Pos{Line: 2, Col: 5001}, End: Pos{Line: 2, Col: 5004}}, Summary: "long"},
		{Severity: Error, Range: Range{File: "f.nix", Start: Pos{Line: 3, Col: 5}, End: Pos{Line: 3, Col: 10}}, Summary: "escape"},
	})
	want := "f.nix:2:5001: error: long\n" +
		"    2 | …" + strings.Repeat("a", 33) + "BAD" + strings.Repeat("b", 64) + "…\n" +
		"      | " + strings.Repeat(" ", 34) + "^^^\n" +
		"f.nix:3:5: error: escape\n" +
		"    3 | esc ?[31m? here\n" +
		"      |     ^^^^^\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
