package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// FileOutsideDir reports a file of environment.etc, home.file or
// xdg.configFile whose name (or target) is not a path inside the
// directory the files are linked into.
var FileOutsideDir = &lint.Rule{
	ID:       "NO607",
	Name:     "file-outside-dir",
	Severity: diag.Error,
	Doc: `report an /etc or home file named by an empty, absolute or climbing (..) path

NixOS links every environment.etc entry into /etc by its name (or its
target): the builder of the etc tree makes $out/etc/<name>, and
activation links what it finds below $out/etc. A name such as "../x" is
made beside that tree instead, so the file silently never reaches /etc
(built without the sandbox, "../../x" writes into the store directory
itself); an empty name or "." names /etc itself and fails the build as a
duplicate; "/x" is "x" under a second name. home-manager links home.file
and xdg.configFile entries below the home directory (and ~/.config): a
relative "../x" or an absolute name is linked outside it by the user's
activation. Write the name as a plain relative path, such as
"app/config.toml". fleetgen vet reports the same names in free-form nixos
values (FileNameProblem is the one check both use). There is no fix.`,
	Run: func(p *lint.Pass) error {
		for _, d := range configDefs(p.File) {
			// The binding's names are the last of d.path; in a module
			// with config = …, config.a.b = … has one name more.
			first := len(d.path) - len(d.attr.Path.Names)
			for i := max(first, 0); i < len(d.path); i++ {
				dir, ok := FileEntry(d.path[:i+1])
				if !ok {
					continue
				}
				if why := FileNameProblem(d.path[i]); why != "" {
					p.ReportRangef(d.attr.Path.Names[i-first], "file name %q %s; write a path relative to %s", d.path[i], why, dir)
				}
			}
			n := len(d.path)
			if n < 2 || d.path[n-1] != "target" {
				continue
			}
			dir, ok := FileEntry(d.path[:n-1])
			if !ok {
				continue
			}
			s, ok := d.value.(*syntax.String)
			if !ok {
				continue
			}
			if v, err := syntax.StringValue(s); err == nil {
				if why := FileNameProblem(v); why != "" {
					p.ReportRangef(s, "target %q %s; write a path relative to %s", v, why, dir)
				}
			}
		}
		return nil
	},
}

// FileEntry reports whether the option path names one entry of a set of
// files NixOS or home-manager links into a directory (the path's last
// name is the file's name), and which directory: environment.etc.<name>
// (/etc); home.file.<name> and xdg.configFile.<name> of home-manager, in
// its own modules or under home-manager.users.<user> of NixOS.
func FileEntry(path []string) (dir string, ok bool) {
	n := len(path)
	if n < 3 {
		return "", false
	}
	set := path[n-3] + "." + path[n-2]
	if n == 3 && set == "environment.etc" {
		return "/etc", true
	}
	if n != 3 && !(n == 6 && path[0] == "home-manager" && path[1] == "users") {
		return "", false
	}
	switch set {
	case "home.file":
		return "the home directory", true
	case "xdg.configFile":
		return "the XDG config directory (~/.config)", true
	}
	return "", false
}

// FileNameProblem says what makes name unfit as the name of a file linked
// into a directory (see FileEntry), or "" when it is a plain relative
// path: it is empty, absolute, or has an empty, "." or ".." part.
func FileNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty: it names the directory itself"
	case strings.HasPrefix(name, "/"):
		return "is absolute"
	}
	for _, part := range strings.Split(name, "/") {
		switch part {
		case "..":
			return "climbs out of the directory with .."
		case ".", "":
			return "has an empty or . part"
		}
	}
	return ""
}
