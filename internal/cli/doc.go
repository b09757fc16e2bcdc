package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"fleetnix.dev/fleet/fleet"
)

const docArgs = "[PATH]"

func init() {
	register(&command{
		name:  "doc",
		args:  docArgs,
		short: "document a field of the schema: type, default, allowed values, layers, example",
		long: `With no PATH, doc lists the top level of each section of the schema. With
a PATH, it prints that field and the fields right below it. A host's fields
are named from the host (features.ai.ollama, network.ssh.port), the rest
from the fleet (settings.output, secrets.<secret>.file); a name may stand
for a placeholder (users.alice.shell). docs/reference.md lists every field.`,
		run: runDoc,
	})
}

func runDoc(e *env, args []string) int {
	fs := e.flags("doc", docArgs)
	rest, ok := parse(fs, args)
	if !ok {
		return e.parseFailed()
	}
	if len(rest) > 1 {
		return e.usageErr("doc", "one PATH at a time, got %d", len(rest))
	}
	path := ""
	if len(rest) == 1 {
		path = rest[0]
	}
	f, children, err := fleet.LookupSchemaField(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "fleetgen doc: %v\n", err)
		return exitFail
	}
	var b strings.Builder
	if f != nil {
		b.WriteString(fleet.FormatSchemaField(f))
	} else {
		b.WriteString("The fields of a fleet, by section. fleetgen doc PATH says more of one;\ndocs/reference.md lists them all.\n")
	}
	if len(children) > 0 {
		if f != nil {
			b.WriteString("\n")
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		section := ""
		for _, c := range children {
			if f == nil && c.Section != section {
				section = c.Section
				fmt.Fprintf(tw, "\n%s:\n", sectionTitle(section))
			} else if f != nil && section == "" {
				section = c.Section
				fmt.Fprintf(tw, "fields:\n")
			}
			fmt.Fprintf(tw, "    %s\t%s\n", lastLabel(c.Path), summary(&c))
		}
		tw.Flush()
	}
	fmt.Fprint(e.stdout, b.String())
	return exitOK
}

func sectionTitle(s string) string {
	switch s {
	case "host":
		return "hosts.<host> (and templates, hardware profiles, users, profiles)"
	case "template":
		return "templates.<name>"
	case "profile":
		return "profiles.<name>"
	case "settings":
		return "settings"
	case "secret":
		return "secrets.<secret>"
	}
	return s
}

func lastLabel(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// summary is one line about a field: the first sentence of its doc, and
// its default.
func summary(f *fleet.SchemaField) string {
	s := f.Doc
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	s = strings.Join(strings.Fields(s), " ")
	if f.Default != "" {
		s += " (default " + f.Default + ")"
	}
	return s
}
