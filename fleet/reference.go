package fleet

import (
	"bytes"
	"fmt"
	"strings"

	iload "fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/schema"
)

// A SchemaField is one field of the schema as the field reference
// (docs/reference.md, fleetgen doc) lists it.
type SchemaField struct {
	// Path is the field's path, dotted: a host's fields from the host's
	// root (network.ssh.port), the others from the fleet's root
	// (settings.output, secrets.<secret>.file). A key of a collection is
	// a placeholder such as <user> or <name>.
	Path string
	// Section is "host", "template", "profile", "settings" or "secret".
	Section string
	// Kind is "struct", "map", "list" or "value".
	Kind string
	// Key is the placeholder of a map's keys and KeyType what a key must
	// be, as CUE.
	Key, KeyType string
	// Type is the field's constraint as CUE (#Port, "client" | "server").
	Type string
	// Words says in plain words what the field holds.
	Words string
	// Allowed are the values of an enumeration, as CUE literals.
	Allowed []string
	// Default is the schema's default as CUE, or "".
	Default string
	// Required says every host must have the field once its layers are
	// merged; fields required only in some cases say so in Doc.
	Required bool
	// Doc is the field's doc comment.
	Doc string
	// Layers are the layers that may set it, lowest first.
	Layers []string
	// Example is a line of CUE setting it, from the root of the layer
	// that writes it; "" for a struct.
	Example string
}

// A SchemaType is a named type of the schema that fields use (#Port).
type SchemaType struct {
	Name, Type, Doc string
}

func schemaField(f *iload.Field) SchemaField {
	return SchemaField{
		Path: f.PathString(), Section: f.Section, Kind: f.Kind, Key: f.Key, KeyType: f.KeyType,
		Type: f.Type, Words: f.Words, Allowed: f.Allowed, Default: f.Default, Required: f.Required,
		Doc: f.Doc, Layers: f.Layers, Example: f.Example,
	}
}

// SchemaReference returns every field of the schema fleetgen embeds, in
// schema order within each section (host, template, profile, settings,
// secret), and the named types they use.
func SchemaReference() ([]SchemaField, []SchemaType, error) {
	r, err := iload.BuildReference(schema.FS)
	if err != nil {
		return nil, nil, err
	}
	out := make([]SchemaField, len(r.Fields))
	for i, f := range r.Fields {
		out[i] = schemaField(f)
	}
	types := make([]SchemaType, len(r.Defs))
	for i, d := range r.Defs {
		types[i] = SchemaType{Name: d.Name, Type: d.Type, Doc: d.Doc}
	}
	return out, types, nil
}

// LookupSchemaField returns the field of the schema at path and the
// fields right below it; the empty path returns no field and the top
// level of every section. A host's fields are named from the host
// (features.ai.ollama; a leading hosts.<name>. is dropped), the others
// from the fleet (settings.output). A key of a collection may be a
// placeholder or a name: users.alice.shell is users.<user>.shell. An
// unknown path is an error naming the first unknown label and the nearest
// known one.
func LookupSchemaField(path string) (*SchemaField, []SchemaField, error) {
	r, err := iload.BuildReference(schema.FS)
	if err != nil {
		return nil, nil, err
	}
	labels, err := ParsePath(path)
	if err != nil {
		return nil, nil, err
	}
	var f *iload.Field
	if len(labels) > 0 {
		var parent *iload.Field
		var missing string
		f, parent, missing = r.Lookup(labels)
		if f == nil {
			where := "the schema has no field " + formatPath(labels)
			if parent != nil {
				where = fmt.Sprintf("%s has no field %q", parent.PathString(), missing)
			} else if missing != "" {
				where = fmt.Sprintf("the schema has no field %q at the top level", missing)
			}
			if s := r.Suggest(parent, missing); s != "" {
				return nil, nil, fmt.Errorf("%s; did you mean %q?", where, s)
			}
			return nil, nil, fmt.Errorf("%s; fleetgen doc lists the top level", where)
		}
	}
	var children []SchemaField
	for _, c := range r.Children(f) {
		children = append(children, schemaField(c))
	}
	if f == nil {
		return nil, children, nil
	}
	sf := schemaField(f)
	return &sf, children, nil
}

// ReferenceMarkdown returns the field reference as Markdown: every field
// of the schema with its type, default, allowed values, doc comment, the
// layers that may set it and an example. docs/reference.md in fleet's
// repository is its output.
func ReferenceMarkdown() ([]byte, error) {
	fields, types, err := SchemaReference()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(referenceIntro)
	sections := []struct{ name, title, intro string }{
		{"host", "Hosts", hostsIntro},
		{"template", "Templates", "A template's own fields, besides the host fields above.\n"},
		{"profile", "Profiles", "A profile's own fields; what it composes is its `home`, listed above under `users.<user>.home`.\n"},
		{"settings", "Settings", "Fleet-wide settings, written once in the fleet package.\n"},
		{"secret", "Secrets", "Each agenix secret the fleet declares. `{$secret: \"<name>\"}` values name them.\n"},
	}
	b.WriteString("## Contents\n\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "- [%s](#%s)\n", s.title, strings.ToLower(s.title))
	}
	b.WriteString("- [Types](#types)\n\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "## %s\n\n%s\n", s.title, s.intro)
		for i := range fields {
			f := &fields[i]
			if f.Section != s.name {
				continue
			}
			writeFieldMarkdown(&b, f)
		}
	}
	b.WriteString("## Types\n\nThe named types fields use, as the schema defines them.\n\n")
	for _, t := range types {
		fmt.Fprintf(&b, "### %s\n\n", t.Name)
		if t.Doc != "" {
			b.WriteString(markdownText(t.Doc) + "\n\n")
		}
		fmt.Fprintf(&b, "```cue\n%s: %s\n```\n\n", t.Name, t.Type)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

const referenceIntro = `# Field reference

<!-- Code generated by fleetgen from the schema; DO NOT EDIT. "FLEET_UPDATE=1 go test ./fleet" regenerates it. -->

Every field a fleet may write, generated from the schema that fleetgen
embeds (` + "`schema/*.cue`" + `). ` + "`fleetgen doc PATH`" + ` prints the same for one field and
those below it (` + "`fleetgen doc features.ai.ollama`" + `).

For each field: its type as the schema writes it and in words, the allowed
values, the default (what a host gets when no layer sets the field), the
layers that may set it, and a line of CUE that sets it. Keys of collections
appear as placeholders: ` + "`<user>`" + ` a user name, ` + "`<host>`" + ` a host name, ` + "`<name>`" + ` a
lower-case name, ` + "`<path>`" + ` an absolute path, ` + "`<key>`" + ` any string the field's doc
describes.

`

const hostsIntro = `A host's value is built from layers, lowest first; a higher layer overrides
a lower one, and ` + "`fleetgen explain HOST PATH`" + ` says which set a value:

| layer | where it is written | a host field ` + "`F`" + ` there |
|---|---|---|
| hardware profile | ` + "`hardware: <name>: ...`" + ` | ` + "`hardware.F`" + ` is written ` + "`F`" + ` |
| template | ` + "`templates: <name>: ...`" + ` | ` + "`F`" + ` |
| user | ` + "`users: <user>: ...`" + ` | ` + "`users.<user>.F`" + ` is written ` + "`F`" + ` |
| profile | ` + "`profiles: <name>: home: ...`" + ` | ` + "`users.<user>.home.F`" + ` is written ` + "`F`" + ` |
| host | ` + "`hosts: <host>: ...`" + ` | ` + "`F`" + ` |

Examples are written from the root of the host (` + "`hosts: web: network: ssh: port: 2222`" + `
is written ` + "`network: ssh: port: 2222`" + ` here).
`

func writeFieldMarkdown(b *bytes.Buffer, f *SchemaField) {
	depth := strings.Count(f.Path, ".") + 1
	if f.Section != "host" {
		depth = 2
	}
	level := "###"
	if depth > 1 {
		level = "####"
	}
	fmt.Fprintf(b, "%s `%s`\n\n", level, f.Path)
	if f.Doc != "" {
		b.WriteString(markdownText(f.Doc) + "\n\n")
	}
	for _, l := range fieldFacts(f) {
		fmt.Fprintf(b, "- %s: %s\n", l[0], markdownFact(l[0], l[1]))
	}
	b.WriteString("\n")
}

// fieldFacts lists what the reference says of f besides its doc, as
// (name, value) pairs.
func fieldFacts(f *SchemaField) [][2]string {
	var out [][2]string
	switch f.Kind {
	case "struct":
	case "map":
		out = append(out, [2]string{"type", f.Type})
		out = append(out, [2]string{"holds", f.Words})
	default:
		out = append(out, [2]string{"type", f.Type})
		if f.Words != "" && f.Words != f.Type {
			out = append(out, [2]string{"holds", f.Words})
		}
	}
	if f.Default != "" {
		out = append(out, [2]string{"default", f.Default})
	}
	if f.Required {
		out = append(out, [2]string{"required", "yes"})
	}
	out = append(out, [2]string{"set by", strings.Join(f.Layers, ", ")})
	if f.Example != "" {
		out = append(out, [2]string{"example", f.Example})
	}
	return out
}

func markdownFact(name, value string) string {
	switch name {
	case "type", "default", "example":
		return "`" + value + "`"
	}
	return markdownText(value)
}

// markdownText escapes the characters Markdown would read as HTML (the
// placeholders <user>, <name>) outside code spans.
func markdownText(s string) string {
	var b strings.Builder
	code := false
	for _, r := range s {
		switch {
		case r == '`':
			code = !code
		case !code && r == '<':
			b.WriteString("&lt;")
			continue
		case !code && r == '>':
			b.WriteString("&gt;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FormatSchemaField writes f for a terminal: path, doc, then its facts,
// indented.
func FormatSchemaField(f *SchemaField) string {
	var b strings.Builder
	b.WriteString(f.Path + "\n")
	if f.Doc != "" {
		for _, l := range strings.Split(f.Doc, "\n") {
			b.WriteString("    " + l + "\n")
		}
		b.WriteString("\n")
	}
	for _, l := range fieldFacts(f) {
		fmt.Fprintf(&b, "    %-9s %s\n", l[0]+":", l[1])
	}
	return b.String()
}
