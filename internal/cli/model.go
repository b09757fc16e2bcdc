package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{name: "vet", args: "[packages]", short: "check the fleet: schema, layers, references, NixOS options and packages; write nothing", run: runVet})
	register(&command{name: "hosts", args: hostsArgs, short: "list hosts: template, hardware, users and profiles, tags", run: runHosts})
	register(&command{name: "export", args: exportArgs, short: "print hosts' final values (CUE, or JSON with --json)", run: runExport})
	register(&command{name: "explain", args: "HOST PATH", short: "say which layer and file:line:col set a value, and what it overrode", run: runExplain})
	register(&command{name: "schema sync", args: "[DIR]", short: "refresh the vendored schema from the one fleetgen embeds", run: runSchemaSync})
	register(&command{name: "schema", args: "--jsonschema", short: "print the JSON Schema of an exported host", run: runSchema})
}

// load loads the fleet named by package patterns and prints its warnings.
func (e *env) load(pkgs []string) (*fleet.Fleet, int) {
	return e.loadWith(e.config(pkgs, false))
}

// config says how fleetgen loads the fleet named by package patterns;
// nixos asks for each host's NixOS configurations as well.
func (e *env) config(pkgs []string, nixos bool) *fleet.Config {
	return &fleet.Config{Dir: e.cwd, Packages: pkgs, NixOS: nixos, CacheDir: cacheDir()}
}

// loadWith loads the fleet cfg names and prints its warnings.
func (e *env) loadWith(cfg *fleet.Config) (*fleet.Fleet, int) {
	progress, done := e.loadProgress()
	cfg.Progress = progress
	f, err := fleet.Load(e.ctx, cfg)
	done()
	if err != nil {
		return nil, e.report(err)
	}
	if w := f.Warnings(); len(w) > 0 {
		e.printErrors(e.stderr, w)
	}
	return f, exitOK
}

func runVet(e *env, args []string) int {
	fs := e.flags("vet", "[packages]")
	pkgs, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	// vet checks what gen does: the hosts' NixOS configurations too.
	f, code := e.loadWith(e.config(pkgs, true))
	if f == nil {
		return code
	}
	warnings, err := f.VetNixOS()
	if len(warnings) > 0 {
		fleet.PrintErrors(e.stderr, e.cwd, warnings)
	}
	if err != nil {
		return e.report(err)
	}
	return e.secretWarnings(f)
}

// secretWarnings prints what keeps hosts from decrypting their secrets
// (missing .age files, hosts without deploy.hostKey). They do not change
// the exit status.
func (e *env) secretWarnings(f *fleet.Fleet) int {
	w, err := f.SecretWarnings()
	if err != nil {
		return e.report(err)
	}
	if len(w) > 0 {
		e.printErrors(e.stderr, w)
	}
	return exitOK
}

// splitTargets splits positional arguments into CUE package patterns
// (".", "./...", anything with a slash) and host selectors (a host's name,
// or @tag), as commands that take both read them.
func splitTargets(args []string) (pkgs, hosts []string) {
	for _, a := range args {
		if a == "." || a == ".." || strings.Contains(a, "/") || strings.HasSuffix(a, "...") {
			pkgs = append(pkgs, a)
		} else {
			hosts = append(hosts, a)
		}
	}
	return pkgs, hosts
}

const hostsArgs = "[--json] [HOST...|@TAG] [packages]"

func runHosts(e *env, args []string) int {
	fs := e.flags("hosts", hostsArgs)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	pkgs, sel := splitTargets(rest)
	f, code := e.load(pkgs)
	if f == nil {
		return code
	}
	hosts, err := f.Select(sel...)
	if err != nil {
		return e.report(err)
	}
	type row struct {
		Name            string       `json:"name"`
		Template        string       `json:"template,omitempty"`
		HardwareProfile string       `json:"hardwareProfile,omitempty"`
		Users           []fleet.User `json:"users"`
		Tags            []string     `json:"tags"`
	}
	if *asJSON {
		rows := []row{}
		for _, h := range hosts {
			rows = append(rows, row{h.Name, h.Template, h.HardwareProfile, nonNil(h.Users), nonNil(h.Tags)})
		}
		return e.writeJSON(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tTEMPLATE\tHARDWARE\tUSERS (PROFILES)\tTAGS")
	for _, h := range hosts {
		var users []string
		for _, u := range h.Users {
			if len(u.Profiles) > 0 {
				users = append(users, fmt.Sprintf("%s (%s)", u.Name, strings.Join(u.Profiles, "+")))
			} else {
				users = append(users, u.Name)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Name, dash(h.Template), dash(h.HardwareProfile),
			dash(strings.Join(users, ", ")), dash(strings.Join(h.Tags, ",")))
	}
	tw.Flush()
	return exitOK
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (e *env) writeJSON(v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return e.report(err)
	}
	b = append(b, '\n')
	e.stdout.Write(b)
	return exitOK
}

const exportArgs = "[--json] [HOST...|@TAG] [packages]"

func runExport(e *env, args []string) int {
	fs := e.flags("export", exportArgs)
	var hosts multiFlag
	fs.Var(&hosts, "host", "export only this host (a name or @tag; repeatable); the same as naming it without the flag")
	asJSON := fs.Bool("json", false, "print JSON (an object keyed by host name) instead of CUE")
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	pkgs, named := splitTargets(rest)
	hosts = append(hosts, named...)
	f, code := e.load(pkgs)
	if f == nil {
		return code
	}
	sel, err := f.Select(hosts...)
	if err != nil {
		return e.report(err)
	}
	var out bytes.Buffer
	if *asJSON {
		out.WriteString("{")
		for i, h := range sel {
			if i > 0 {
				out.WriteString(",")
			}
			k, _ := json.Marshal(h.Name)
			fmt.Fprintf(&out, "\n  %s: ", k)
			var ind bytes.Buffer
			if err := json.Indent(&ind, h.JSON(), "  ", "  "); err != nil {
				return e.report(err)
			}
			out.Write(ind.Bytes())
		}
		out.WriteString("\n}\n")
	} else {
		for _, h := range sel {
			src, err := f.CUE(h)
			if err != nil {
				return e.report(err)
			}
			fmt.Fprintf(&out, "hosts: %s: ", cueLabel(h.Name))
			out.Write(src)
			out.WriteString("\n")
		}
	}
	e.stdout.Write(out.Bytes())
	return exitOK
}

func cueLabel(s string) string {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	return s
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runExplain(e *env, args []string) int {
	fs := e.flags("explain", "HOST PATH")
	asJSON := fs.Bool("json", false, "print the provenance as JSON")
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if len(rest) != 2 {
		fs.Usage()
		return exitUsage
	}
	f, code := e.load(nil)
	if f == nil {
		return code
	}
	prov, err := f.Explain(rest[0], rest[1])
	if err != nil {
		return e.report(err)
	}
	if *asJSON {
		return e.writeJSON(prov)
	}
	var b bytes.Buffer
	for i, p := range prov {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "hosts.%s.%s: %s\n", rest[0], p.Path, show(p.Value))
		fmt.Fprintf(&b, "  set by %s at %s\n", p.Set.Source, e.rel(p.Set.Pos))
		for _, o := range p.Overridden {
			fmt.Fprintf(&b, "  overrides %s from %s at %s\n", show(o.Value), o.Source, e.rel(o.Pos))
		}
	}
	e.stdout.Write(b.Bytes())
	return exitOK
}

// rel formats p with its file relative to the working directory.
func (e *env) rel(p fleet.Position) string {
	p.File = fleet.RelPath(e.cwd, p.File)
	return p.String()
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func runSchemaSync(e *env, args []string) int {
	fs := e.flags("schema sync", "[DIR]")
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	dir := "."
	if len(rest) == 1 {
		dir = rest[0]
	} else if len(rest) > 1 {
		fs.Usage()
		return exitUsage
	}
	root, err := fleet.SyncSchema(dir)
	if err != nil {
		return e.report(err)
	}
	fmt.Fprintf(e.stdout, "wrote the schema to %s\n", fleet.RelPath(e.cwd, root+"/cue.mod/pkg/"+fleet.SchemaImportPath))
	return exitOK
}

func runSchema(e *env, args []string) int {
	fs := e.flags("schema", "--jsonschema")
	js := fs.Bool("jsonschema", false, "print the JSON Schema (draft 2020-12) of an exported host")
	rest, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if !*js || len(rest) > 0 {
		fs.Usage()
		return exitUsage
	}
	b, err := fleet.JSONSchema()
	if err != nil {
		return e.report(err)
	}
	e.stdout.Write(b)
	return exitOK
}
