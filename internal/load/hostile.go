package load

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// nulDiags reports every string literal and field name of the user's files
// that spells a NUL character (\u0000; CUE refuses a raw NUL byte and \x00
// in strings itself). Nix ends a string at NUL, so such a value would not
// be the value written, and a field name "services\u0000" would slip past
// every comparison with "services".
func nulDiags(files []*ast.File) diag.List {
	var out diag.List
	for _, f := range files {
		ast.Walk(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || !spellsNUL(lit.Value) {
				return true
			}
			out.Add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    merge.Range(lit.Pos()),
				Summary:  "a string holds a NUL character (\\u0000)",
				Detail:   "Nix ends a string at NUL, so the value would not be what is written; remove it",
			})
			return true
		}, nil)
	}
	return out
}

// spellsNUL reports whether the text of a CUE string literal (or a part of
// one between interpolations) has an escape for NUL: \u0000 or
// \U00000000, with as many # after the backslash as the literal has
// before its quote.
func spellsNUL(lit string) bool {
	hashes := len(lit) - len(strings.TrimLeft(lit, "#"))
	esc := `\` + strings.Repeat("#", hashes)
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			continue
		}
		if strings.HasPrefix(lit[i:], esc) {
			rest := lit[i+len(esc):]
			if strings.HasPrefix(rest, "u0000") || strings.HasPrefix(rest, "U00000000") {
				return true
			}
		}
		if hashes == 0 {
			i++ // skip the escaped character: \\u0000 is text
		}
	}
	return false
}

// nameKinds are the fleet's named collections and the definitions their
// names must satisfy. The names reach file names (nix/hosts/<host>.nix,
// users/<user>/, secrets/<name>.age), attribute names and command lines;
// the schema's pattern constraints check only the entries something else
// refers to.
var nameKinds = []struct {
	path    Path
	def     string
	what    string
	entries func(*layers) map[string]*entry
}{
	{HostsPath, "#HostName", "host", func(l *layers) map[string]*entry { return l.hosts }},
	{UsersPath, "#UserName", "user", func(l *layers) map[string]*entry { return l.users }},
	{SecretsPath, "#SecretName", "secret", func(l *layers) map[string]*entry { return l.secrets }},
	{TemplatesPath, "#Name", "template", func(l *layers) map[string]*entry { return l.templates }},
	{HardwarePath, "#Name", "hardware profile", func(l *layers) map[string]*entry { return l.hardware }},
	{ProfilesPath, "#Name", "profile", func(l *layers) map[string]*entry { return l.profiles }},
}

// settingsNames are the keyed fields of settings whose keys are names.
var settingsNames = []struct {
	field, def, what string
}{
	{"inputs", "#InputName", "flake input"},
}

// checkNames reports every entry of the fleet's named collections whose
// name the schema's definition for it refuses, at the entry's label, with
// the definition's doc comment as the fix. Entries read from the cache
// have no positions: a problem with one is found by name, and the package
// is then read whole (see loadFleet).
func (l *layers) checkNames(schema cue.Value) diag.List {
	var out diag.List
	for _, k := range settingsNames {
		e := l.settings
		if e == nil {
			break
		}
		def := schema.LookupPath(cue.ParsePath(k.def))
		if !def.Exists() {
			continue
		}
		report := func(name string, at diag.Range) {
			path := []string{string(SettingsPath), k.field, name}
			out.Add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    at,
				Path:     path,
				Summary:  fmt.Sprintf("%s: not a %s name", FormatPath(path), k.what),
				Detail:   docWords(def),
			})
		}
		if !e.value.Exists() {
			data, _ := e.data.(map[string]any)
			named, _ := data[k.field].(map[string]any)
			for _, name := range keys(named) {
				if def.Unify(def.Context().Encode(name)).Err() != nil {
					report(name, diag.Range{})
				}
			}
			continue
		}
		it, err := e.value.LookupPath(cue.MakePath(cue.Str(k.field))).Fields()
		if err != nil {
			continue
		}
		for it.Next() {
			name := it.Selector().Unquoted()
			if def.Unify(def.Context().Encode(name)).Err() == nil {
				continue
			}
			report(name, merge.Range(userPos(it.Value())))
		}
	}
	for _, k := range nameKinds {
		def := schema.LookupPath(cue.ParsePath(k.def))
		if !def.Exists() {
			continue
		}
		entries := k.entries(l)
		for _, name := range keys(entries) {
			if def.Unify(def.Context().Encode(name)).Err() == nil {
				continue
			}
			out.Add(diag.Diagnostic{
				Severity: diag.Error,
				Range:    entries[name].start,
				Path:     []string{string(k.path), name},
				Summary:  fmt.Sprintf("%s: not a %s name", FormatPath([]string{string(k.path), name}), k.what),
				Detail:   docWords(def),
			})
		}
	}
	return out
}

// docWords returns the doc comment of v as one paragraph.
func docWords(v cue.Value) string {
	var words []string
	for _, g := range v.Doc() {
		words = append(words, strings.Fields(g.Text())...)
	}
	return strings.Join(words, " ")
}

// schemaDocs holds the doc comment of each field and definition of the
// schema whose value is written on one line, by "file:line" of its label,
// for the schema files of every module loaded: an error at such a line
// (a value out of bound of a pattern) is explained by the doc comment.
var schemaDocs sync.Map

// registerSchemaDocs records the doc comments of the schema files, by
// name, as the overlay puts them in dir.
func registerSchemaDocs(dir string, files map[string][]byte) {
	for name, src := range files {
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			continue
		}
		file := filepath.Join(dir, name)
		ast.Walk(f, func(n ast.Node) bool {
			fd, ok := n.(*ast.Field)
			if !ok {
				return true
			}
			if _, isStruct := fd.Value.(*ast.StructLit); isStruct {
				return true
			}
			var words []string
			for _, g := range ast.Comments(fd) {
				if g.Doc {
					words = append(words, strings.Fields(g.Text())...)
				}
			}
			if len(words) > 0 {
				schemaDocs.Store(file+":"+strconv.Itoa(fd.Pos().Line()), strings.Join(words, " "))
			}
			return true
		}, nil)
	}
}

// schemaDoc returns the doc comment of the first of the schema positions
// that has one, or "".
func schemaDoc(ps []token.Pos) string {
	for _, p := range ps {
		if d, ok := schemaDocs.Load(p.Filename() + ":" + strconv.Itoa(p.Line())); ok {
			return d.(string)
		}
	}
	return ""
}

// atUser moves diagnostics of the full definition def, unified with the
// data of the user's value v (so CUE knows only the schema's positions),
// to v's fields: the path is v's (at, then the path below def), and the
// place is the deepest field of the path the user wrote, or v itself.
func atUser(ds diag.List, def string, at []string, v cue.Value) diag.List {
	for i := range ds {
		d := &ds[i]
		if len(d.Path) == 0 || d.Path[0] != def {
			continue
		}
		rel := d.Path[1:]
		path := append(slices.Clone(at), rel...)
		d.Summary = strings.Replace(d.Summary, FormatPath(d.Path), FormatPath(path), 1)
		d.Path = path
		if d.Range.Start.IsValid() && label(d.Range.File) != "schema" {
			continue
		}
		pos := userPos(v)
		for n := len(rel); n > 0; n-- {
			if w := v.LookupPath(cuePath(rel[:n])); w.Exists() {
				pos = userPos(w)
				break
			}
		}
		if !pos.IsValid() || label(pos.Filename()) == "schema" {
			continue
		}
		if d.Range.Start.IsValid() {
			d.Related = append([]diag.Related{{Range: d.Range, Message: "schema"}}, d.Related...)
		}
		d.Range = merge.Range(pos)
	}
	return ds
}
