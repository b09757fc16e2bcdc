// Package diag holds source positions, ranges and diagnostics shared by
// every part of fleet, and renders them as text for people.
//
// It knows nothing of Nix, CUE or processes: parsers, loaders and linters
// convert their own problems into a List and hand it up.
package diag

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// A Pos is a position in a source file. Line and Col are 1-based; Col
// counts bytes. Offset is the 0-based byte offset. The zero Pos is invalid.
type Pos struct {
	Line, Col, Offset int
}

// IsValid reports whether p names a position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// A Range is a half-open span [Start, End) of one file. A Range with an
// empty File and invalid Start names no place; it is used for problems of
// the whole run.
type Range struct {
	File       string
	Start, End Pos
}

// String formats r as file:line:col, or "-" when it names no place.
func (r Range) String() string {
	if !r.Start.IsValid() {
		if r.File != "" {
			return r.File
		}
		return "-"
	}
	if r.File == "" {
		return fmt.Sprintf("%d:%d", r.Start.Line, r.Start.Col)
	}
	return fmt.Sprintf("%s:%d:%d", r.File, r.Start.Line, r.Start.Col)
}

// A Severity orders diagnostics from informational to fatal.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	}
	return "error"
}

// A Related is a second place that explains a diagnostic: the other side
// of a conflict, or a value that was overridden.
type Related struct {
	Range   Range
	Message string
}

// A Diagnostic is one problem found in a source: where it is, what is
// wrong, and optionally which data path and rule it concerns.
type Diagnostic struct {
	Severity Severity
	Range    Range
	// Summary is a one-line statement of the problem.
	Summary string
	// Detail is optional further explanation, such as a suggestion.
	Detail string
	// Code names the rule or check that found the problem, if any.
	Code string
	// Path is the data path in the fleet value the problem concerns, if any.
	Path []string
	// Related lists other places that matter to this problem.
	Related []Related
}

// Error formats d on one line as "file:line:col: summary".
func (d Diagnostic) Error() string {
	return d.Range.String() + ": " + d.Summary
}

// A List is a list of diagnostics. The zero List is empty and ready to use.
type List []Diagnostic

// Add appends d to the list.
func (l *List) Add(d Diagnostic) { *l = append(*l, d) }

// Errorf appends an error diagnostic at r.
func (l *List) Errorf(r Range, format string, args ...any) {
	l.Add(Diagnostic{Severity: Error, Range: r, Summary: fmt.Sprintf(format, args...)})
}

// Len, Less and Swap implement sort.Interface, ordering by file, then
// offset, then line and column, then summary.
func (l List) Len() int      { return len(l) }
func (l List) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l List) Less(i, j int) bool {
	a, b := l[i].Range, l[j].Range
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Start.Line != b.Start.Line {
		return a.Start.Line < b.Start.Line
	}
	if a.Start.Col != b.Start.Col {
		return a.Start.Col < b.Start.Col
	}
	return l[i].Summary < l[j].Summary
}

// Sort sorts the list by position and removes exact duplicates.
func (l *List) Sort() {
	sort.Stable(*l)
	out := (*l)[:0]
	for i, d := range *l {
		if i > 0 && sameDiag(out[len(out)-1], d) {
			continue
		}
		out = append(out, d)
	}
	*l = out
}

func sameDiag(a, b Diagnostic) bool {
	return a.Range == b.Range && a.Summary == b.Summary && a.Severity == b.Severity
}

// HasErrors reports whether any diagnostic has severity Error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity >= Error {
			return true
		}
	}
	return false
}

// Err returns l as an error, or nil when l is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error formats the list: the first diagnostic and a count of the rest.
func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no problems"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l[0].Error(), len(l)-1)
}

// RelPath returns file relative to dir with forward slashes when file is
// inside dir, and file with forward slashes otherwise. Relative results
// inside dir start with "./" only when keepDot is set.
func RelPath(dir, file string) string {
	if dir != "" && filepath.IsAbs(file) {
		if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
	}
	return filepath.ToSlash(file)
}
