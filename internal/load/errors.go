package load

import (
	"fmt"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// cueDiags converts CUE errors into diagnostics placed at the user's
// files. The first position outside the schema is the subject; schema
// positions follow as related places. Errors CUE reports without any
// position (conflicting defaults, cue-lang/cue#2507) get the positions of
// the conjuncts of the value at their path in root, when root is given.
func cueDiags(err error, root *cue.Value) diag.List {
	var out diag.List
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		path := labels(e.Path())
		ps := cueerrors.Positions(e)
		if len(ps) == 0 && root != nil && len(path) > 0 {
			ps = contributors(root.LookupPath(cuePath(path)))
		}
		d := diag.Diagnostic{Severity: diag.Error, Path: path}
		if len(path) > 0 {
			d.Summary = FormatPath(path) + ": " + msg
		} else {
			d.Summary = msg
		}
		var user, schema []token.Pos
		for _, p := range ps {
			if label(p.Filename()) == "schema" {
				schema = append(schema, p)
			} else {
				user = append(user, p)
			}
		}
		if root != nil && len(path) > 0 && len(user) > 1 {
			// Put first the place where the value at the error's path is
			// written, ahead of references and embeddings that lead to it.
			var at token.Pos
			for _, p := range contributors(root.LookupPath(cuePath(path))) {
				if label(p.Filename()) != "schema" {
					at = p
				}
			}
			for i, p := range user {
				// The conjunct is the field; the error names its value,
				// on the same line.
				if at.IsValid() && p.Filename() == at.Filename() && p.Line() == at.Line() {
					user[0], user[i] = user[i], user[0]
					break
				}
			}
		}
		all := append(user, schema...)
		if len(all) > 0 {
			d.Range = merge.Range(all[0])
			for _, p := range all[1:] {
				d.Related = append(d.Related, diag.Related{Range: merge.Range(p), Message: relatedLabel(p.Filename())})
			}
		}
		if strings.Contains(msg, "field not allowed") && root != nil && len(path) > 0 {
			d.Detail = suggestField(*root, path)
		}
		if d.Detail == "" && strings.Contains(msg, "out of bound") {
			d.Detail = schemaDoc(schema)
		}
		if hint := secretHint(msg); hint != "" {
			d.Summary = FormatPath(path) + ": " + hint
			d.Detail = "a secret is never a literal; name a declared secret: {$secret: \"name\"}"
		}
		out = append(out, d)
	}
	return collapse(out)
}

// secretHint recognises a literal where the schema wants a #SecretRef.
func secretHint(msg string) string {
	if !strings.Contains(msg, "mismatched types string and struct") && !strings.Contains(msg, "mismatched types struct and string") {
		return ""
	}
	if !strings.Contains(msg, "$secret") {
		return ""
	}
	return "a literal string where a secret belongs"
}

// collapse drops the noise CUE adds around one mistake: for a path with a
// specific error, the generic "N errors in empty disjunction" summary of
// the same path goes.
func collapse(l diag.List) diag.List {
	specific := map[string]bool{}
	for _, d := range l {
		if !strings.Contains(d.Summary, "errors in empty disjunction") {
			specific[strings.Join(d.Path, "\x00")] = true
		}
	}
	out := l[:0]
	for _, d := range l {
		if strings.Contains(d.Summary, "errors in empty disjunction") && specific[strings.Join(d.Path, "\x00")] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// contributors returns the positions of the conjuncts that make up v.
func contributors(v cue.Value) []token.Pos {
	exprMu.Lock()
	op, args := v.Expr()
	exprMu.Unlock()
	if op == cue.AndOp {
		var ps []token.Pos
		for _, a := range args {
			if p := a.Pos(); p.IsValid() {
				ps = append(ps, p)
			}
		}
		return ps
	}
	if p := v.Pos(); p.IsValid() {
		return []token.Pos{p}
	}
	return nil
}

// suggestField names the allowed fields next to an unknown one, nearest
// first, or, where the names are free but constrained (kernel modules,
// mount points), says what a name must be.
func suggestField(root cue.Value, path []string) string {
	parent := root.LookupPath(cuePath(path[:len(path)-1]))
	it, err := parent.Fields(cue.Optional(true), cue.Patterns(true))
	if err != nil {
		return ""
	}
	bad := path[len(path)-1]
	var names, patterns []string
	for it.Next() {
		sel := it.Selector()
		if sel.ConstraintType() == cue.PatternConstraint {
			if doc := schemaDoc(contributors(sel.Pattern())); doc != "" {
				patterns = append(patterns, doc)
			}
			continue
		}
		if sel.LabelType() != cue.StringLabel {
			continue
		}
		if n := sel.Unquoted(); n != bad {
			names = append(names, n)
		}
	}
	if len(patterns) > 0 {
		return "the name does not fit: " + strings.Join(patterns, " ")
	}
	if s := diag.Nearest(bad, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	if len(names) > 0 {
		return "allowed here: " + strings.Join(names, ", ")
	}
	return ""
}

// cuePath turns a path of labels into a CUE path: "#x" as a definition,
// anything else as a string label (so "eu-1" and a user's key "#0" need
// no quoting; cue.Def panics on a name that is no identifier).
func cuePath(p []string) cue.Path {
	sels := make([]cue.Selector, len(p))
	for i, s := range p {
		if strings.HasPrefix(s, "#") && ast.IsValidIdent(s) {
			sels[i] = cue.Def(s)
		} else {
			sels[i] = cue.Str(s)
		}
	}
	return cue.MakePath(sels...)
}

// exprMu serializes cue.Value.Expr. CUE v0.17 documents Value methods as
// safe for concurrent use, but Expr evaluates the conjuncts it returns,
// and two such evaluations resolving references into the same package
// race (found by the race detector while hosts are merged in parallel).
var exprMu sync.Mutex

// ownPos returns v's own position when it is in the user's files.
func ownPos(v cue.Value) (token.Pos, bool) {
	p := v.Pos()
	return p, p.IsValid() && label(p.Filename()) != "schema"
}

// userPos returns where v is written in the user's files. For a struct,
// CUE's own Pos is often the schema's pattern constraint; the conjuncts
// then tell where the user wrote it.
func userPos(v cue.Value) token.Pos {
	if p, ok := ownPos(v); ok {
		return p
	}
	for _, p := range contributors(v) {
		if label(p.Filename()) != "schema" {
			return p
		}
	}
	return v.Pos()
}

// relatedLabel labels a second position of an error: the schema's
// constraints, or another place in the user's files that takes part.
func relatedLabel(file string) string {
	if l := label(file); l == "schema" {
		return l
	}
	return "also involved"
}
