package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "secrets status",
		args:  "[--json] [packages]",
		short: "declared secrets against the .age files and the agenix rules: missing, unused, to rekey, readable by others",
		run:   runSecretsStatus,
	})
}

// runSecretsStatus prints one line per secret, and per .age file no
// secret declares: its file, the hosts using it and what is wrong. It
// exits 1 when anything is.
func runSecretsStatus(e *env, args []string) int {
	fs := e.flags("secrets status", "[--json] [packages]")
	asJSON := fs.Bool("json", false, "print the statuses as JSON")
	pkgs, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	f, err := fleet.Load(e.ctx, e.config(pkgs, true))
	if err != nil {
		return e.report(err)
	}
	sts, err := f.SecretsStatus()
	if err != nil {
		return e.report(err)
	}
	code := exitOK
	for i := range sts {
		if sts[i].Problem() {
			code = exitFail
		}
	}
	if *asJSON {
		type js struct {
			fleet.SecretStatus
			Problems []string
		}
		out := make([]js, len(sts))
		for i := range sts {
			out[i] = js{sts[i], problems(&sts[i])}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return code
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tFILE\tHOSTS\tSTATUS")
	for i := range sts {
		s := &sts[i]
		hosts := strings.Join(s.Hosts, ",")
		if hosts == "" {
			hosts = "-"
		}
		status := "ok"
		if p := problems(s); len(p) > 0 {
			status = strings.Join(p, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.File, hosts, status)
	}
	tw.Flush()
	return code
}

// problems describes what is wrong with s, most pressing first.
func problems(s *fleet.SecretStatus) []string {
	var p []string
	switch {
	case !s.Declared:
		p = append(p, "unused: no secret declares this file")
	case s.Missing():
		p = append(p, "missing: no encrypted file")
	}
	if s.Declared && s.Unused() {
		p = append(p, "unused: no host uses it")
	}
	if s.Rekey {
		p = append(p, "rekey: recipients changed")
	}
	if len(s.NoHostKey) > 0 {
		p = append(p, "no host key: "+strings.Join(s.NoHostKey, ","))
	}
	if len(s.ReadableBy) > 0 {
		p = append(p, "readable by other users on "+strings.Join(s.ReadableBy, ", "))
	}
	return p
}
