package rules

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// DeployLockout reports hosts whose new configuration would close the way
// fleet deploys them.
var DeployLockout = &lint.Rule{
	ID:       "FV14",
	Name:     "deploy-lockout",
	Severity: diag.Warning,
	Doc: `report a host whose configuration would lock the deployer out

fleetgen deploys over SSH, as deploy.targetUser, and a user other than root
activates through sudo -n. A configuration that stops sshd, moves it off the
port the deployer uses, closes that port in the firewall on the interface
the deployer comes through, refuses the deploy user (AllowUsers,
AllowGroups, DenyUsers, DenyGroups, PermitRootLogin), leaves the user no
authorized key sshd reads, gives it a shell that refuses logins, or takes
away its password-less sudo, activates fine and then cannot be deployed
again: the next fix needs a console. The seed fleet's own history has such a
lockout, from a firewall change.

The rule reads the host's NixOS configuration as fleet computes it
(features and free-form nixos together). The interface is deploy.interface,
else tailscale0 when deploy.targetHost is a Tailscale address or name, else
any: the port must then be open on all interfaces. Settings it cannot see
through (a raw {$nix: …} value) are given the benefit of the doubt.
fleetgen deploy makes the same check before activating, with the port the
target's sshd really answered on, and refuses such a host unless
--force-lockout-risk; magic rollback stays the last line of defence.

Not in the catalogue's table (FV01-FV12); the lockout guard of issue 11.`,
	RunFleet: func(p *lint.FleetPass) error {
		for _, h := range p.Hosts {
			for _, r := range LockoutRisks(h, 0) {
				p.Reportf(h, r.Path, "%s: %s", h.Name, r.Message)
			}
		}
		return nil
	},
}

// A LockoutRisk is one way a host's configuration would close the path
// fleet deploys it by.
type LockoutRisk struct {
	// Path is the host value that causes it, for its position.
	Path []string
	// Message says what would happen, in plain words.
	Message string
}

// LockoutRisks returns the ways h's configuration (h.NixOS) would lock
// out the deployer. port is the SSH port the deployer uses as the target's
// sshd sees it; 0 means unknown, and then some port sshd listens on must
// stay reachable. A host without a NixOS configuration has none.
func LockoutRisks(h *lint.Host, port int) []LockoutRisk {
	if h.NixOS == nil {
		return nil
	}
	c := &lockoutCheck{h: h, nixos: h.NixOS, port: port}
	c.run()
	return c.risks
}

type lockoutCheck struct {
	h     *lint.Host
	nixos map[string]any
	port  int
	risks []LockoutRisk
}

func (c *lockoutCheck) add(path []string, format string, args ...any) {
	c.risks = append(c.risks, LockoutRisk{Path: path, Message: fmt.Sprintf(format, args...)})
}

// at returns the host value path the NixOS option opt comes from, for
// the finding's position: the free-form nixos value when the host sets
// one there, else the first of the schema paths that a layer of the
// fleet sets (not a schema default), else nil: the host itself.
func (c *lockoutCheck) at(opt []string, schema ...[]string) []string {
	if opt != nil {
		free := append([]string{"nixos"}, opt...)
		if _, ok := c.h.Get(free...); ok {
			return free
		}
	}
	for _, p := range schema {
		if c.written(p) {
			return p
		}
	}
	return nil
}

// written reports whether a layer of the fleet, not the schema's
// defaults, sets the value at path.
func (c *lockoutCheck) written(path []string) bool {
	if _, ok := c.h.Get(path...); !ok {
		return false
	}
	if c.h.Where == nil {
		return true
	}
	r, layer := c.h.Where(path)
	return r.File != "" && layer != "" && layer != "schema default"
}

// opt returns the NixOS option at path, its markers ($force, $default)
// taken off, and whether it is set to a value fleet can read.
func (c *lockoutCheck) opt(path ...string) (any, bool) {
	v, ok := c.raw(path...)
	if !ok {
		return nil, false
	}
	v = unwrap(v)
	if m, ok := v.(map[string]any); ok {
		if _, raw := m["$nix"]; raw {
			return nil, false
		}
	}
	return v, true
}

// unwrap takes the $force and $default markers off a value.
func unwrap(v any) any {
	for {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return v
		}
		if f, ok := m["$force"]; ok {
			v = f
		} else if d, ok := m["$default"]; ok {
			v = d
		} else {
			return v
		}
	}
}

// boolOpt returns the boolean option at path, or def when it is unset;
// known is false when it is set to something fleet cannot read.
func (c *lockoutCheck) boolOpt(def bool, path ...string) (val, known bool) {
	v, ok := c.opt(path...)
	if !ok {
		_, set := c.raw(path...)
		return def, !set
	}
	b, isBool := v.(bool)
	if !isBool {
		return def, false
	}
	return b, true
}

// raw reports whether the option at path is present at all.
func (c *lockoutCheck) raw(path ...string) (any, bool) {
	var v any = c.nixos
	for _, p := range path {
		m, ok := unwrap(v).(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// strings returns the list of strings at path; known is false when it is
// set to something fleet cannot read.
func (c *lockoutCheck) strs(path ...string) (out []string, set, known bool) {
	v, ok := c.opt(path...)
	if !ok {
		_, set = c.raw(path...)
		return nil, set, !set
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			s, ok := unwrap(e).(string)
			if !ok {
				return nil, true, false
			}
			out = append(out, s)
		}
		return out, true, true
	case string:
		return strings.Fields(v), true, true
	}
	return nil, true, false
}

// ints returns the list of numbers at path.
func (c *lockoutCheck) ints(path ...string) (out []int, set, known bool) {
	v, ok := c.opt(path...)
	if !ok {
		_, set = c.raw(path...)
		return nil, set, !set
	}
	l, isList := v.([]any)
	if !isList {
		return nil, true, false
	}
	for _, e := range l {
		n, ok := num(unwrap(e))
		if !ok {
			return nil, true, false
		}
		out = append(out, n)
	}
	return out, true, true
}

func (c *lockoutCheck) run() {
	h := c.h
	user := strOf(h, "deploy", "targetUser")
	if user == "" {
		user = "root"
	}
	sshd := []string{"services", "openssh"}
	if on, known := c.boolOpt(false, "services", "openssh", "enable"); known && !on {
		c.add(c.at(append(sshd, "enable"), []string{"network", "ssh", "enable"}),
			"sshd would not run, and fleetgen deploys over SSH")
		return
	}
	ports, _, portsKnown := c.ints("services", "openssh", "ports")
	if ports == nil && portsKnown {
		ports = []int{22}
	}
	if portsKnown {
		c.checkPorts(ports)
	}
	c.checkUser(user)
}

// iface returns the interface the deployer reaches the host through, or
// "" for any.
func (c *lockoutCheck) iface() string {
	if i := strOf(c.h, "deploy", "interface"); i != "" {
		return i
	}
	t := strings.Trim(strOf(c.h, "deploy", "targetHost"), "[]")
	if strings.HasSuffix(t, ".ts.net") || strings.HasSuffix(t, ".ts.net.") {
		return "tailscale0"
	}
	if a, err := netip.ParseAddr(t); err == nil {
		for _, p := range overlayRanges {
			if p.Contains(a) {
				return "tailscale0"
			}
		}
	}
	return ""
}

// checkPorts checks that sshd listens on the deployer's port and that the
// firewall lets it through.
func (c *lockoutCheck) checkPorts(ports []int) {
	portPath := c.at([]string{"services", "openssh", "ports"}, []string{"network", "ssh", "port"})
	if c.port != 0 && !slices.Contains(ports, c.port) {
		c.add(portPath, "sshd would listen on port %s, not on port %d, which the deployer uses", portList(ports), c.port)
		return
	}
	fwOn, known := c.boolOpt(true, "networking", "firewall", "enable")
	if !known || !fwOn {
		return
	}
	iface := c.iface()
	open := func(p int) (bool, bool) {
		openFW, k1 := c.boolOpt(true, "services", "openssh", "openFirewall")
		global, _, k2 := c.ints("networking", "firewall", "allowedTCPPorts")
		if !k1 || !k2 {
			return true, false
		}
		if openFW && slices.Contains(ports, p) || slices.Contains(global, p) || inRanges(c, p, "networking", "firewall") {
			return true, true
		}
		if iface == "" {
			return false, true
		}
		if iface == "lo" {
			return true, true // NixOS's firewall always accepts loopback
		}
		trusted, _, k3 := c.strs("networking", "firewall", "trustedInterfaces")
		local, _, k4 := c.ints("networking", "firewall", "interfaces", iface, "allowedTCPPorts")
		if !k3 || !k4 {
			return true, false
		}
		return slices.Contains(trusted, iface) || slices.Contains(local, p) ||
			inRanges(c, p, "networking", "firewall", "interfaces", iface), true
	}
	want := ports
	if c.port != 0 {
		want = []int{c.port}
	}
	for _, p := range want {
		if ok, _ := open(p); ok {
			return
		}
	}
	where := "on every interface"
	if iface != "" {
		where = "on " + iface + ", the interface the deployer comes through"
	}
	path := c.at([]string{"services", "openssh", "openFirewall"}, []string{"deploy", "interface"}, portPath)
	if c.port != 0 {
		c.add(path, "the firewall would close port %d, which the deployer uses, %s", c.port, where)
	} else {
		c.add(path, "the firewall would close sshd's port %s %s", portList(ports), where)
	}
}

// inRanges reports whether p is in the allowedTCPPortRanges under prefix.
func inRanges(c *lockoutCheck, p int, prefix ...string) bool {
	v, ok := c.opt(append(prefix, "allowedTCPPortRanges")...)
	l, isList := v.([]any)
	if !ok || !isList {
		return false
	}
	for _, e := range l {
		m, _ := unwrap(e).(map[string]any)
		from, ok1 := num(unwrap(m["from"]))
		to, ok2 := num(unwrap(m["to"]))
		if ok1 && ok2 && from <= p && p <= to {
			return true
		}
	}
	return false
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// checkUser checks that sshd lets user in with a key and, for a user
// other than root, that sudo -n works.
func (c *lockoutCheck) checkUser(user string) {
	settings := []string{"services", "openssh", "settings"}
	userPath := c.at(nil, []string{"deploy", "targetUser"})
	groups := c.groups(user)

	if allow, set, known := c.strs(append(settings, "AllowUsers")...); set && known && len(allow) > 0 && !matchesUser(allow, user) {
		c.add(c.at(append(settings, "AllowUsers"), []string{"features", "security", "sshHardening", "allowUsers"}),
			"sshd would let only %s log in, not the deploy user %s", strings.Join(allow, ", "), user)
	}
	if deny, _, known := c.strs(append(settings, "DenyUsers")...); known && matchesUser(deny, user) {
		c.add(c.at(append(settings, "DenyUsers")), "sshd would refuse the deploy user %s (DenyUsers)", user)
	}
	if allow, set, known := c.strs(append(settings, "AllowGroups")...); set && known && len(allow) > 0 && groups != nil && !matchesAny(allow, groups) {
		c.add(c.at(append(settings, "AllowGroups")), "sshd would let only the groups %s log in, and the deploy user %s is in none of them", strings.Join(allow, ", "), user)
	}
	if deny, _, known := c.strs(append(settings, "DenyGroups")...); known && groups != nil && matchesAny(deny, groups) {
		c.add(c.at(append(settings, "DenyGroups")), "sshd would refuse the deploy user %s for its groups (DenyGroups)", user)
	}
	if user == "root" {
		if v, ok := c.opt(append(settings, "PermitRootLogin")...); ok {
			if s, _ := v.(string); s == "no" || s == "forced-commands-only" {
				c.add(c.at(append(settings, "PermitRootLogin"), []string{"network", "ssh", "permitRootLogin"}),
					"sshd would refuse root logins (PermitRootLogin %s), and root is the deploy user", s)
			}
		}
	}

	account := []string{"users", "users", user}
	_, declared := c.raw(account...)
	if !declared {
		if user != "root" {
			if mutable, known := c.boolOpt(true, "users", "mutableUsers"); known && !mutable {
				c.add(userPath, "the deploy user %s would not exist: it is not declared and users.mutableUsers is false", user)
			}
		}
	} else {
		c.checkAccount(user, account)
	}
	if user != "root" {
		c.checkSudo(user, groups)
	}
}

// checkAccount checks the declared account of the deploy user: its keys
// and its shell.
func (c *lockoutCheck) checkAccount(user string, account []string) {
	userValue := []string{"users", user}
	keys, _, k1 := c.strs(append(account, "openssh", "authorizedKeys", "keys")...)
	files, _, k2 := c.strs(append(account, "openssh", "authorizedKeys", "keyFiles")...)
	if k1 && k2 && len(keys)+len(files) == 0 {
		// Keys in ~/.ssh/authorized_keys count unless sshd is told
		// not to read them; fleet cannot see that file.
		if home, known := c.boolOpt(true, "services", "openssh", "authorizedKeysInHomedir"); known && !home {
			c.add(c.at(append(account, "openssh", "authorizedKeys", "keys"), append(userValue, "sshKeys"), []string{"deploy", "targetUser"}),
				"the deploy user %s would have no authorized key sshd reads (none declared, and services.openssh.authorizedKeysInHomedir is false)", user)
		}
	}
	if v, ok := c.opt(append(account, "shell")...); ok {
		if s, isStr := v.(string); isStr && (path.Base(s) == "nologin" || path.Base(s) == "false") {
			c.add(c.at(append(account, "shell"), append(userValue, "shell")),
				"the deploy user %s would have the shell %s, which refuses logins", user, s)
		}
	}
}

// groups returns the groups of user as declared, nil when unknown.
func (c *lockoutCheck) groups(user string) []string {
	account := []string{"users", "users", user}
	if _, ok := c.raw(account...); !ok {
		return nil
	}
	gs, _, known := c.strs(append(account, "extraGroups")...)
	if !known {
		return nil
	}
	if v, ok := c.opt(append(account, "group")...); ok {
		if g, isStr := v.(string); isStr {
			gs = append(gs, g)
		}
	} else if normal, _ := c.boolOpt(false, append(account, "isNormalUser")...); normal {
		gs = append(gs, "users")
	}
	return append(gs, user)
}

// checkSudo checks that user can still run sudo without a password, as
// fleetgen's sudo -n needs.
func (c *lockoutCheck) checkSudo(user string, groups []string) {
	sudo := []string{"security", "sudo"}
	userPath := c.at(nil, []string{"deploy", "targetUser"})
	if on, known := c.boolOpt(true, append(sudo, "enable")...); known && !on {
		if rs, _ := c.boolOpt(false, "security", "sudo-rs", "enable"); !rs {
			c.add(c.at(append(sudo, "enable"), userPath), "sudo would be disabled, and the deploy user %s activates through sudo -n", user)
			return
		}
		sudo = []string{"security", "sudo-rs"}
	}
	if c.nopasswdRule(sudo, user, groups) {
		return
	}
	if groups == nil {
		return // an account fleet does not declare: it cannot tell
	}
	wheel := slices.Contains(groups, "wheel")
	if exec, _ := c.boolOpt(false, append(sudo, "execWheelOnly")...); exec && !wheel {
		c.add(c.at(append(sudo, "execWheelOnly"), userPath), "only wheel could run sudo, and the deploy user %s is not in wheel", user)
		return
	}
	needs, known := c.boolOpt(true, append(sudo, "wheelNeedsPassword")...)
	if !known {
		return
	}
	switch {
	case !wheel:
		c.add(c.at([]string{"users", "users", user, "extraGroups"}, []string{"users", user, "groups"}, userPath),
			"the deploy user %s would not be in wheel nor have a NOPASSWD sudo rule, so sudo -n would fail", user)
	case needs:
		c.add(c.at(append(sudo, "wheelNeedsPassword"), userPath),
			"sudo would ask the deploy user %s for a password (%s.wheelNeedsPassword is true), so sudo -n would fail", user, strings.Join(sudo, "."))
	}
}

// nopasswdRule reports whether an extraRules entry lets user, or one of
// groups, run every command without a password, or extraConfig seems to.
func (c *lockoutCheck) nopasswdRule(sudo []string, user string, groups []string) bool {
	if v, ok := c.opt(append(sudo, "extraRules")...); ok {
		rules, _ := v.([]any)
		for _, r := range rules {
			m, _ := unwrap(r).(map[string]any)
			if m == nil {
				continue
			}
			who := false
			for _, u := range anyStrings(m["users"]) {
				who = who || u == user
			}
			for _, g := range anyStrings(m["groups"]) {
				who = who || slices.Contains(groups, g)
			}
			if !who {
				continue
			}
			cmds, _ := unwrap(m["commands"]).([]any)
			for _, cmd := range cmds {
				cm, _ := unwrap(cmd).(map[string]any)
				opts := anyStrings(cm["options"])
				if s, _ := unwrap(cm["command"]).(string); s == "ALL" && slices.Contains(opts, "NOPASSWD") {
					return true
				}
			}
		}
	}
	if v, ok := c.opt(append(sudo, "extraConfig")...); ok {
		if s, _ := v.(string); strings.Contains(s, "NOPASSWD") {
			return true // fleet does not parse sudoers; give it the benefit of the doubt
		}
	}
	return false
}

func anyStrings(v any) []string {
	l, _ := unwrap(v).([]any)
	var out []string
	for _, e := range l {
		if s, ok := unwrap(e).(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// matchesUser reports whether one of sshd's user patterns ("alice",
// "ad*", "alice@10.0.0.*") matches user from some host.
func matchesUser(patterns []string, user string) bool {
	for _, p := range patterns {
		p, _, _ = strings.Cut(p, "@")
		if ok, _ := path.Match(p, user); ok {
			return true
		}
	}
	return false
}

func matchesAny(patterns, names []string) bool {
	for _, n := range names {
		if matchesUser(patterns, n) {
			return true
		}
	}
	return false
}
