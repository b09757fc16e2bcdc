package fleet

import (
	"errors"
	"io"

	"fleetnix.dev/fleet/internal/diag"
)

// A Position is a place in a source file: file name, 1-based line and
// column (in bytes), and 0-based byte offset.
type Position struct {
	File                 string
	Line, Column, Offset int
}

// String formats p as file:line:col.
func (p Position) String() string {
	return diag.Range{File: p.File, Start: diag.Pos{Line: p.Line, Col: p.Column, Offset: p.Offset}}.String()
}

// A Severity orders problems: Info, Warning, Error.
type Severity int

// The severities, lowest first.
const (
	Info    Severity = Severity(diag.Info)
	Warning Severity = Severity(diag.Warning)
	Error   Severity = Severity(diag.Error)
)

// String returns "info", "warning" or "error".
func (s Severity) String() string { return diag.Severity(s).String() }

// A Diagnostic is a problem in the user's sources: where, what, and the
// other places that explain it.
type Diagnostic struct {
	Severity Severity
	Pos, End Position
	// Summary is one line saying what is wrong.
	Summary string
	// Detail is optional further explanation or a suggestion.
	Detail string
	// Code is the rule or check that reported it, if any.
	Code string
	// Path is the data path in the fleet value, if any ("hosts.p620.ssh.port").
	Path []string
	// Related are other places involved, such as the other side of a conflict.
	Related []RelatedPosition
}

// A RelatedPosition is a second place that explains a Diagnostic.
type RelatedPosition struct {
	Pos     Position
	Message string
}

// Errors is a list of diagnostics returned as an error: one run reports
// every problem it found. It is never empty when returned as an error.
type Errors []Diagnostic

// Error summarises the list on one line.
func (l Errors) Error() string { return toDiag(l).Error() }

func toDiag(l Errors) diag.List {
	out := make(diag.List, len(l))
	for i, d := range l {
		out[i] = diag.Diagnostic{
			Severity: diag.Severity(d.Severity),
			Range:    diag.Range{File: d.Pos.File, Start: toPos(d.Pos), End: toPos(d.End)},
			Summary:  d.Summary,
			Detail:   d.Detail,
			Code:     d.Code,
			Path:     d.Path,
		}
		for _, r := range d.Related {
			out[i].Related = append(out[i].Related, diag.Related{Range: diag.Range{File: r.Pos.File, Start: toPos(r.Pos)}, Message: r.Message})
		}
	}
	return out
}

func toPos(p Position) diag.Pos { return diag.Pos{Line: p.Line, Col: p.Column, Offset: p.Offset} }

func fromDiag(l diag.List) Errors {
	if len(l) == 0 {
		return nil
	}
	out := make(Errors, len(l))
	for i, d := range l {
		out[i] = Diagnostic{
			Severity: Severity(d.Severity),
			Pos:      Position{File: d.Range.File, Line: d.Range.Start.Line, Column: d.Range.Start.Col, Offset: d.Range.Start.Offset},
			End:      Position{File: d.Range.File, Line: d.Range.End.Line, Column: d.Range.End.Col, Offset: d.Range.End.Offset},
			Summary:  d.Summary,
			Detail:   d.Detail,
			Code:     d.Code,
			Path:     d.Path,
		}
		for _, r := range d.Related {
			out[i].Related = append(out[i].Related, RelatedPosition{
				Pos:     Position{File: r.Range.File, Line: r.Range.Start.Line, Column: r.Range.Start.Col, Offset: r.Range.Start.Offset},
				Message: r.Message,
			})
		}
	}
	return out
}

// PrintErrors writes err to w as people read it when err is, or wraps,
// Errors: each diagnostic once, with file paths relative to cwd in forward
// slashes and the offending source line under it. It reports whether it
// printed; for any other error it writes nothing and returns false.
func PrintErrors(w io.Writer, cwd string, err error) bool {
	return PrintErrorsWith(w, cwd, err, PrintOptions{})
}

// PrintOptions say how PrintErrorsWith writes.
type PrintOptions struct {
	// Color marks severities and positions with ANSI escapes, for a
	// terminal that shows colour.
	Color bool
}

// PrintErrorsWith is PrintErrors with options.
func PrintErrorsWith(w io.Writer, cwd string, err error, o PrintOptions) bool {
	var l Errors
	if !errors.As(err, &l) {
		return false
	}
	p := &diag.Printer{Cwd: cwd, Source: readSource, Color: o.Color}
	p.Fprint(w, toDiag(l))
	return true
}

// readSource reads a file for a diagnostic snippet. Embedded schema files
// and overlays have no file on disk; they simply get no snippet.
func readSource(file string) ([]byte, bool) {
	b, err := readRegular(file, true) // a named pipe is not waited on
	return b, err == nil
}

// RelPath returns file relative to dir, with forward slashes, when file is
// inside dir; otherwise file with forward slashes.
func RelPath(dir, file string) string { return diag.RelPath(dir, file) }
