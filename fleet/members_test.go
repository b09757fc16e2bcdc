package fleet

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCheckOwnLeavesAlike: the checks of hosts' own entries, remembered
// by path and value for hosts alike (leafMemo), report each host's
// problem at its own file:line:col, whatever other hosts have the same
// value at another path or another value at the same path, in the same
// file or another, on one line or several; a problem of a template is
// reported once, at the template.
func TestCheckOwnLeavesAlike(t *testing.T) {
	dir := t.TempDir()
	files := vetFleetFiles(`
templates: lab: nixos: environment: etc: motd: text: "hi"
` + labTemplate + `
templates: leaky: ` + labSpec + `
templates: leaky: nixos: services: t: password: "template-literal"

hosts: "a-1": {template: "lab", nixos: environment: etc: x: text: "hunter22"}
hosts: "a-2": {template: "lab", nixos: services: s: password: "/run/secrets/pw"}
hosts: "a-3": {template: "lab", nixos: services: s: password: "hunter22"}
hosts: "a-4": {template: "lab", nixos: services: s: password: "hunter22"}
hosts: "a-5": {template: "lab", nixos: environment: etc: x: text: "hunter22"}

hosts: "a-6": {
	template: "lab"
	nixos: services: s: password: "hunter22"
}
hosts: "l-1": template: "leaky"
hosts: "l-2": template: "leaky"
`)
	files["more.cue"] = `package fleet

hosts: "a-7": {template: "lab", nixos: services: s: password: "/run/secrets/pw"}
hosts:   "a-8":   {template: "lab", nixos: services: s: password: "hunter22"}
`
	writeTree(t, dir, files)
	hostsCue := strings.Split(files["hosts.cue"], "\n")
	// Where each literal is written: its field, on the host's own line.
	at := func(file string, lines []string, host, value string) string {
		start := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, `"`+host+`"`) || strings.Contains(l, " "+host+":") })
		for i := start; i < len(lines); i++ {
			if c := strings.Index(lines[i], `password: "`+value+`"`); c >= 0 {
				return fmt.Sprintf("%s:%d:%d", file, i+1, c+1)
			}
		}
		t.Fatalf("no %s in %s's entry", value, host)
		return ""
	}
	want := []string{
		at("hosts.cue", hostsCue, "a-3", "hunter22") + `: hosts.a-3.nixos.services.s.password: a literal secret`,
		at("hosts.cue", hostsCue, "a-4", "hunter22") + `: hosts.a-4.nixos.services.s.password: a literal secret`,
		at("hosts.cue", hostsCue, "a-6", "hunter22") + `: hosts.a-6.nixos.services.s.password: a literal secret`,
		at("hosts.cue", hostsCue, "leaky", "template-literal") + `: hosts.l-1.nixos.services.t.password: a literal secret`,
		at("more.cue", strings.Split(files["more.cue"], "\n"), "a-8", "hunter22") + `: hosts.a-8.nixos.services.s.password: a literal secret`,
	}
	lit := regexp.MustCompile(`(?m)^\S+: hosts\.\S+: a literal secret`)
	_, err := Load(context.Background(), &Config{Dir: dir})
	if err == nil {
		t.Fatal("no error for the literal secrets")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T: %v", err, err)
	}
	var got []string
	for _, d := range es {
		line := strings.TrimPrefix(d.Pos.String(), dir+"/") + ": " + d.Summary
		if m := lit.FindString(line); m != "" {
			got = append(got, m)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("literal secrets reported:\n%s\nwant:\n%s\nin:\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}
}
