package rules

// fileOptions are the NixOS options that take a secret as a literal,
// which then lands in the world-readable store, with the option that
// reads it from a file at run time instead. NO601 suggests only these:
// an option is in the table when its declaration was read in nixpkgs
// (the file named), so that no suggestion names an option that does not
// exist. A * stands for one name of the path (a user, a server). Keep
// the table here, in one place; a check of every suggested option
// against the NixOS option manifest belongs next to it.
var fileOptions = []fileOption{
	{"users.users.*.password", "users.users.<name>.hashedPasswordFile", "nixos/modules/config/users-groups.nix", true},
	{"users.users.*.initialPassword", "users.users.<name>.hashedPasswordFile", "nixos/modules/config/users-groups.nix", true},
	{"services.k3s.token", "services.k3s.tokenFile", "nixos/modules/services/cluster/k3s/default.nix", true},
	{"services.redis.servers.*.requirePass", "services.redis.servers.<name>.requirePassFile", "nixos/modules/services/databases/redis.nix", true},
	{"services.gitea.database.password", "services.gitea.database.passwordFile", "nixos/modules/services/misc/gitea.nix", true},
	{"services.nginx.virtualHosts.*.basicAuth.*", "services.nginx.virtualHosts.<name>.basicAuthFile", "nixos/modules/services/web-servers/nginx/vhost-options.nix", true},
	// Only the variables whose names say they hold a secret.
	{"systemd.services.*.environment.*", "systemd.services.<name>.serviceConfig.EnvironmentFile", "nixos/lib/systemd-unit-options.nix", false},
}

// A fileOption is one entry of fileOptions.
type fileOption struct {
	// Literal is the option path that holds the secret as a literal.
	Literal string
	// File is the option that reads it from a file instead.
	File string
	// Declared is the nixpkgs file that declares both.
	Declared string
	// Secret says that every value of the option is a secret, whatever
	// its name; otherwise the name must say so.
	Secret bool
}

// fileOptionFor returns the entry of fileOptions whose literal option
// ends path (the option path of a definition, possibly inside a
// submodule of it), or nil.
func fileOptionFor(path []string) *fileOption {
	for i := range fileOptions {
		o := &fileOptions[i]
		want := splitDots(o.Literal)
		if len(want) > len(path) {
			continue
		}
		tail := path[len(path)-len(want):]
		ok := true
		for j, w := range want {
			if w != "*" && w != tail[j] {
				ok = false
				break
			}
		}
		if ok {
			return o
		}
	}
	return nil
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
