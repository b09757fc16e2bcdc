package emit

import (
	"fmt"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// flakeExpr returns the flake: its inputs, a nixosConfigurations entry
// per host, and one "<host>-installer" per host with a disk layout, its
// live installer. outputs takes the inputs as one argument and refers to
// each input through it, so adding an input never changes the function's
// formals.
func flakeExpr(f *Fleet, hosts []Host) (syntax.Expr, error) {
	inputs := append([]Input(nil), f.Inputs...)
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	var ib []syntax.Binding
	for _, in := range inputs {
		b := []syntax.Binding{syntax.Bind("url", syntax.Str(in.URL))}
		follows := make([]string, 0, len(in.Follows))
		for k := range in.Follows {
			follows = append(follows, k)
		}
		sort.Strings(follows)
		for _, k := range follows {
			b = append(b, syntax.BindPath([]string{"inputs", k, "follows"}, syntax.Str(in.Follows[k])))
		}
		if len(b) == 1 {
			ib = append(ib, syntax.BindPath([]string{in.Name, "url"}, syntax.Str(in.URL)))
		} else {
			ib = append(ib, syntax.BindPath([]string{in.Name}, syntax.Attrs(b...)))
		}
	}
	hasDisko := false
	for _, in := range inputs {
		hasDisko = hasDisko || in.Name == DiskoInput
	}
	var configs []syntax.Binding
	for _, h := range hosts {
		if h.Disks != nil && !hasDisko {
			return nil, &Error{File: "flake.nix", Err: fmt.Errorf("host %s has a disk layout, but the flake has no %q input to take disko's NixOS module from", h.Name, DiskoInput)}
		}
		hp, err := pathLit("./hosts/" + h.Name + ".nix")
		if err != nil {
			return nil, &Error{File: "flake.nix", Err: err}
		}
		mods := []syntax.Expr{hp}
		for _, m := range h.Modules {
			mods = append(mods, syntax.Sel(syntax.Id("inputs"), strings.Split(m, ".")...))
		}
		configs = append(configs, syntax.BindPath([]string{h.Name},
			syntax.Call(syntax.Sel(syntax.Id("inputs"), "nixpkgs", "lib", "nixosSystem"), syntax.Attrs(
				syntax.Bind("modules", syntax.ListOf(mods...)),
				syntax.Bind("specialArgs", syntax.Attrs(syntax.InheritNames("inputs"))),
			))))
		if h.Disks != nil {
			ip, err := pathLit("./installers/" + h.Name + ".nix")
			if err != nil {
				return nil, &Error{File: "flake.nix", Err: err}
			}
			// The installer gets the host's own configuration as the
			// special argument host, through the flake's self.
			configs = append(configs, syntax.BindPath([]string{h.Name + "-installer"},
				syntax.Call(syntax.Sel(syntax.Id("inputs"), "nixpkgs", "lib", "nixosSystem"), syntax.Attrs(
					syntax.Bind("modules", syntax.ListOf(ip)),
					syntax.Bind("specialArgs", syntax.Attrs(
						syntax.InheritNames("inputs"),
						syntax.Bind("host", syntax.Sel(syntax.Id("inputs"), "self", "nixosConfigurations", h.Name)),
					)),
				))))
		}
	}
	top := []syntax.Binding{}
	if f.Description != "" {
		top = append(top, syntax.Bind("description", syntax.Str(f.Description)))
	}
	top = append(top,
		syntax.Bind("inputs", syntax.Attrs(ib...)),
		syntax.Bind("outputs", syntax.Fn("inputs", syntax.Attrs(
			syntax.Bind("nixosConfigurations", syntax.Attrs(configs...)),
		))),
	)
	return syntax.Attrs(top...), nil
}

// rulesExpr returns the agenix rules file: for each secret's .age file,
// the public keys that may decrypt it, each with a comment naming whose it
// is.
func rulesExpr(f *Fleet) syntax.Expr {
	secrets := append([]Secret(nil), f.Secrets...)
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].Name < secrets[j].Name })
	from := f.OutDir + "/secrets"
	var b []syntax.Binding
	for _, s := range secrets {
		rs := append([]Recipient(nil), s.Recipients...)
		sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
		var keys []syntax.Expr
		for _, r := range rs {
			keys = append(keys, syntax.WithComment(syntax.Expr(syntax.Str(r.Key)), r.Name))
		}
		file := strings.TrimPrefix(relPath(from, f.SecretsDir+"/"+s.File), "./")
		b = append(b, syntax.BindPath([]string{file, "publicKeys"}, syntax.ListOf(keys...)))
	}
	return syntax.Attrs(b...)
}
