package load

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// plainWords rewrites the errors CUE words for its own users ("conflicting
// values "client" and "sever"", "conflicting values "1000" and int
// (mismatched types string and int)", "field is required but not
// present") into what a fleet's author needs: the value they wrote, what
// the field takes, the allowed values with the nearest one, and for a
// missing field a line of CUE that sets it. Every diagnostic keeps the
// user's position; places in the schema are dropped, as are the
// embeddings of the schema (schema.#Fleet) CUE lists as involved in every
// error. The field reference of schemaFS says what each field takes.
func plainWords(diags diag.List, schemaFS fs.FS, embeds map[diag.Range]bool) diag.List {
	var ref *Reference
	for i := range diags {
		d := &diags[i]
		if d.Severity != diag.Error || len(d.Path) == 0 {
			d.Related = dropNoise(d.Related, embeds, false)
			continue
		}
		msg, ok := strings.CutPrefix(d.Summary, FormatPath(d.Path)+": ")
		if !ok {
			d.Related = dropNoise(d.Related, embeds, false)
			continue
		}
		if ref == nil {
			var err error
			if ref, err = BuildReference(schemaFS); err != nil {
				return dropShadowed(diags) // the errors as CUE words them are still true
			}
		}
		single := rewrite(d, msg, ref.Field(d.Path), ref)
		d.Related = dropNoise(d.Related, embeds, single)
	}
	return dropShadowed(diags)
}

// schemaRule returns the rule the schema states as one side of a
// conflict with the user's value, when it does: the schema states a rule
// by unifying a field with a sentence once the rule is broken ("conflicting
// values "deploy.targetUser alice must be allowed to log in over SSH" and
// {...}"). user is the value the user's layers gave the field.
func schemaRule(args []any, user any) (string, bool) {
	for _, a := range args {
		x := fmt.Sprint(a)
		u, err := strconv.Unquote(x)
		if err != nil || literalKind(x) != "string" || strings.Count(u, " ") < 2 {
			continue
		}
		if s, ok := user.(string); ok && s == u {
			continue
		}
		return u, true
	}
	return "", false
}

// ruleOf returns the rule the schema states as one side of the conflict
// msg, when it does.
func ruleOf(msg string, m *messages) (string, bool) {
	vals, ok := strings.CutPrefix(msg, "conflicting values ")
	if !ok {
		return "", false
	}
	if x := reMismatch.FindStringSubmatch(msg); x != nil {
		vals = x[1]
	}
	a, b, ok := splitValues(vals)
	if !ok {
		return "", false
	}
	for _, x := range []string{a, b} {
		if u, err := strconv.Unquote(x); err == nil && m.has(u) {
			return u, true
		}
	}
	return "", false
}

// messageSummary marks a summary that states a rule of the schema.
const messageSummary = "\x00rule"

// dropShadowed drops, for a path where the schema stated the rule broken,
// the other conflicts CUE reports there (one per branch of the rule's
// disjunction): the rule says it all.
func dropShadowed(diags diag.List) diag.List {
	rules := map[string]bool{}
	for i := range diags {
		if s, ok := strings.CutSuffix(diags[i].Summary, messageSummary); ok {
			diags[i].Summary = s
			rules[strings.Join(diags[i].Path, "\x00")] = true
		}
	}
	if len(rules) == 0 {
		return diags
	}
	out := diags[:0]
	for _, d := range diags {
		if rules[strings.Join(d.Path, "\x00")] && strings.Contains(d.Summary, ": conflicting values ") {
			continue
		}
		out = append(out, d)
	}
	return out
}

// dropNoise removes the related places no user needs: the schema's, the
// schema's embeddings, and, for an error about one value (single), the
// other places CUE found involved.
func dropNoise(rs []diag.Related, embeds map[diag.Range]bool, single bool) []diag.Related {
	out := rs[:0]
	for _, r := range rs {
		switch {
		case r.Message == "schema" || label(r.Range.File) == "schema":
		case embeds[pointRange(r.Range)]:
		case single && r.Message == "also involved":
		default:
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func pointRange(r diag.Range) diag.Range {
	return diag.Range{File: r.File, Start: r.Start, End: r.Start}
}

var (
	reMismatch = regexp.MustCompile(`^conflicting values (.+) \(mismatched types (\w+) and (\w+)\)$`)
	reConflict = regexp.MustCompile(`^conflicting values (.+)$`)
	reBound    = regexp.MustCompile(`^invalid value (.+) \(out of bound (.+)\)$`)
)

// rewrite puts d, whose message is msg, in plain words when f says what
// its field takes. It reports whether the error is about one value the
// user wrote (rather than two that conflict).
func rewrite(d *diag.Diagnostic, msg string, f *Field, ref *Reference) bool {
	path := FormatPath(d.Path)
	if rule, ok := ruleOf(msg, ref.messages); ok {
		d.Summary = path + ": " + rule + messageSummary
		d.Detail = ""
		return true
	}
	if f == nil {
		return false
	}
	name := d.Path[len(d.Path)-1]
	switch {
	case msg == "field is required but not present":
		d.Summary = fmt.Sprintf("%s is required", path)
		if f.Section == "host" {
			d.Summary += ", and no layer sets it"
		}
		d.Detail = requiredDetail(d.Path, f, d.Detail)
		return true
	case reMismatch.MatchString(msg):
		m := reMismatch.FindStringSubmatch(msg)
		a, b, ok := splitValues(m[1])
		if !ok {
			return false
		}
		user := a
		if !isLiteral(a) || isLiteral(b) && literalKind(a) == f.Base {
			user = b
		}
		if !isLiteral(user) {
			return false
		}
		d.Summary = fmt.Sprintf("%s: %s is %s, but %s holds %s", path, user, valueWords[literalKind(user)], name, f.Words)
		d.Detail = quoteHint(user, f, ref)
		return true
	case reConflict.MatchString(msg) && len(f.Allowed) > 0:
		a, b, ok := splitValues(reConflict.FindStringSubmatch(msg)[1])
		if !ok {
			return false
		}
		user := ""
		for _, x := range []string{b, a} {
			if isLiteral(x) && !slices.Contains(f.Allowed, x) {
				user = x
			}
		}
		if user == "" {
			return false // two allowed values that disagree: a conflict
		}
		d.Summary = fmt.Sprintf("%s: %s is not one of %s", path, user, strings.Join(f.Allowed, ", "))
		d.Detail = nearestValue(user, f.Allowed)
		return true
	case reBound.MatchString(msg):
		m := reBound.FindStringSubmatch(msg)
		user, bound := m[1], m[2]
		if !isLiteral(user) {
			return false
		}
		switch {
		case bound == `!=""`:
			d.Summary = fmt.Sprintf("%s: must not be empty", path)
		case (strings.HasPrefix(bound, "=~") || strings.HasPrefix(bound, "!~")) && strings.Contains(f.Words, bound) && !strings.HasPrefix(f.Words, "a string ("):
			// The field's own pattern, which its words explain.
			d.Summary = fmt.Sprintf("%s: %s is not %s", path, user, f.Words)
		case strings.HasPrefix(bound, "=~"):
			d.Summary = fmt.Sprintf("%s: %s does not match %s", path, user, bound)
		default:
			d.Summary = fmt.Sprintf("%s: %s is out of range: %s must be %s", path, user, name, bound)
			if !strings.Contains(f.Words, bound) {
				// A limit another field sets (a start below a stop).
				d.Detail = fmt.Sprintf("%s holds %s", name, f.Words)
			}
		}
		if f.Example != "" && d.Detail == "" {
			d.Detail = "for example: " + f.Example
		}
		return true
	}
	return false
}

// valueWords say what kind of value a user wrote.
var valueWords = map[string]string{
	"string": "a string", "int": "an integer", "number": "a number", "bool": "a bool", "null": "null",
}

// requiredDetail says what the missing field at path is and how to write
// it, from the root of the layer the path is in. what, when set, says
// what the field is instead of its doc's first sentence.
func requiredDetail(path []string, f *Field, what string) string {
	var lines []string
	if what == "" {
		what = firstSentence(f.Doc)
	}
	if what != "" {
		lines = append(lines, what)
	}
	if f.ExampleValue != "" {
		where := "set it"
		if f.Section == "host" && len(path) >= 2 && path[0] == string(HostsPath) {
			where = "set it in the host or its template"
		}
		var labels []string
		for _, l := range path {
			labels = append(labels, cueLabel(l))
		}
		lines = append(lines, where+", for example:", "    "+strings.Join(labels, ": ")+": "+f.ExampleValue)
	} else {
		lines = append(lines, fmt.Sprintf("it holds %s; fleetgen doc %s says more", f.Words, f.PathString()))
	}
	return strings.Join(lines, "\n")
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// splitValues splits "A and B", two CUE values as CUE prints them; a
// quoted A may hold " and ".
func splitValues(s string) (string, string, bool) {
	if strings.HasPrefix(s, `"`) {
		if q, err := strconv.QuotedPrefix(s); err == nil {
			rest, ok := strings.CutPrefix(s[len(q):], " and ")
			return q, rest, ok
		}
	}
	a, b, ok := strings.Cut(s, " and ")
	return a, b, ok
}

// isLiteral reports whether s is a CUE literal: a string, number, bool or
// null, as a user writes one.
func isLiteral(s string) bool { return literalKind(s) != "" }

// literalKind returns the kind of the CUE literal s as CUE names it, or "".
func literalKind(s string) string {
	x, err := parser.ParseExpr("value", s)
	if err != nil {
		return ""
	}
	switch l := x.(type) {
	case *ast.BasicLit:
		switch l.Kind {
		case token.STRING:
			return "string"
		case token.INT:
			return "int"
		case token.FLOAT:
			return "number"
		case token.TRUE, token.FALSE:
			return "bool"
		case token.NULL:
			return "null"
		}
	case *ast.Ident:
		switch l.Name {
		case "true", "false":
			return "bool"
		case "null":
			return "null"
		}
	}
	return ""
}

// quoteHint suggests the value the user probably meant, when the schema
// takes it: a number without quotes, a string with them; else an example.
func quoteHint(user string, f *Field, ref *Reference) string {
	var cand, how string
	switch {
	case literalKind(user) == "string":
		if u, err := strconv.Unquote(user); err == nil && literalKind(u) != "" && literalKind(u) != "string" {
			cand, how = u, "without quotes"
		}
	default:
		cand, how = strconv.Quote(user), "in quotes"
	}
	if cand != "" && ref.Accepts(f, cand) {
		return fmt.Sprintf("did you mean %s, %s?", cand, how)
	}
	if f.Example != "" {
		return "for example: " + f.Example
	}
	return ""
}

// nearestValue suggests the allowed value nearest to user.
func nearestValue(user string, allowed []string) string {
	u, err := strconv.Unquote(user)
	if err != nil {
		u = user
	}
	var plain []string
	for _, a := range allowed {
		if x, err := strconv.Unquote(a); err == nil {
			a = x
		}
		plain = append(plain, a)
	}
	if s := diag.Nearest(u, plain); s != "" {
		for i, p := range plain {
			if p == s {
				return fmt.Sprintf("did you mean %s?", allowed[i])
			}
		}
	}
	return ""
}

// schemaEmbeds returns where the user's files embed a definition of the
// schema (schema.#Fleet): CUE lists that place as involved in every
// error of the package, which tells the user nothing.
func schemaEmbeds(files []*ast.File) map[diag.Range]bool {
	out := map[diag.Range]bool{}
	for _, f := range files {
		name := ""
		for spec := range f.ImportSpecs() {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil && p == SchemaImportPath {
				name = "schema"
				if spec.Name != nil {
					name = spec.Name.Name
				}
			}
		}
		if name == "" {
			continue
		}
		for _, d := range f.Decls {
			e, ok := d.(*ast.EmbedDecl)
			if !ok {
				continue
			}
			if sel, ok := e.Expr.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
					out[pointRange(merge.Range(e.Pos()))] = true
				}
			}
		}
	}
	return out
}

// messages are the sentences the schema states its rules in: a broken
// rule unifies a field with one ("health.units: \(K) is not a systemd
// unit name"), which CUE reports as a conflict with the user's value.
type messages struct {
	exact    map[string]bool
	patterns []*regexp.Regexp
}

// schemaMessages collects the string literals of the schema's files that
// read as sentences: three words or more, outside any Nix code.
func schemaMessages(schemaFS fs.FS) (*messages, error) {
	m := &messages{exact: map[string]bool{}}
	names, err := fs.Glob(schemaFS, "*.cue")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		src, err := fs.ReadFile(schemaFS, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			return nil, err
		}
		ast.Walk(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Interpolation:
				if re := interpolationPattern(x); re != nil {
					m.patterns = append(m.patterns, re)
				}
				return false
			case *ast.BasicLit:
				if x.Kind != token.STRING {
					return true
				}
				if s, err := strconv.Unquote(x.Value); err == nil && sentence(s) {
					m.exact[s] = true
				}
			}
			return true
		}, nil)
	}
	return m, nil
}

// sentence reports whether s reads as a sentence of the schema's rules:
// at least three words, and none of Nix's or the shell's punctuation that
// starts code.
func sentence(s string) bool {
	return len(strings.Fields(s)) >= 3 && !strings.ContainsAny(s, "{};\n$")
}

// interpolationPattern returns a pattern matching what the interpolation
// x evaluates to when its fixed text reads as a sentence, else nil.
func interpolationPattern(x *ast.Interpolation) *regexp.Regexp {
	var fixed []string
	for _, e := range x.Elts {
		l, ok := e.(*ast.BasicLit)
		if !ok {
			continue
		}
		// The fixed parts are written `"text\(`, `)text\(` and `)text"`.
		t := strings.TrimPrefix(strings.TrimPrefix(l.Value, `"`), ")")
		t = strings.TrimSuffix(strings.TrimSuffix(t, `\(`), `"`)
		u, err := strconv.Unquote(`"` + t + `"`)
		if err != nil {
			return nil
		}
		fixed = append(fixed, u)
	}
	if !sentence(strings.Join(fixed, " ")) {
		return nil
	}
	for i, f := range fixed {
		fixed[i] = regexp.QuoteMeta(f)
	}
	re, err := regexp.Compile(`^(?s)` + strings.Join(fixed, ".*") + `$`)
	if err != nil {
		return nil
	}
	return re
}

// has reports whether s is one of the schema's sentences.
func (m *messages) has(s string) bool {
	if m == nil {
		return false
	}
	if m.exact[s] {
		return true
	}
	for _, re := range m.patterns {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
