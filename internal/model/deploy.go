// Package model holds the plain Go data of a fleet that the loader produces
// and the build and deploy driver consumes. It imports only the standard
// library and knows nothing of CUE or Nix syntax.
package model

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// A Host is one machine of the fleet as the build and deploy driver sees it:
// what to build, where to build it, where to send it, how to activate it and
// how to tell that it came up healthy.
//
// The zero value is not useful: Name and Toplevel must be set. A Host is
// read-only once built; the driver never changes it, so it may be shared
// between goroutines.
type Host struct {
	// Name is the host's name in the fleet, unique within it. It is the key
	// of per-host results and the name nixosConfigurations uses.
	Name string
	// Tags are the host's tags (without the "@" used on the command line).
	Tags []string
	// System is the Nix system type of the host, such as "x86_64-linux".
	System string
	// Toplevel is the flake output to build for this host: normally
	// nixosConfigurations.<Name>.config.system.build.toplevel.
	Toplevel FlakeAttr
	// Target is where the host is reached over ssh for deployment.
	Target Target
	// Build says where the toplevel is built.
	Build BuildPlacement
	// Activation is how the new system is activated; empty means Switch.
	Activation Activation
	// Health lists the checks run after activation; a failing check rolls
	// the host back.
	Health HealthChecks
	// Rollback configures automatic rollback on the target.
	Rollback Rollback
	// Wave is the rollout wave the host is deployed in: every host of a
	// wave is healthy before the next wave starts. Lower waves go first;
	// hosts of one wave go together.
	Wave int
	// WaveReason says why the host is in its wave, such as "cache" or
	// "deploy.wave", for plans and summaries.
	WaveReason string
	// Canary makes the host one of its wave's canaries: the canaries of a
	// wave are deployed, and must come up healthy, before the rest of it.
	Canary bool
}

// HasTag reports whether h carries tag t.
func (h *Host) HasTag(t string) bool {
	for _, x := range h.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// A FlakeAttr names one output attribute of a flake. The zero value names
// nothing.
type FlakeAttr struct {
	// Ref is a flake reference as the nix command takes it, such as
	// "path:/srv/fleet/nix" or "git+file:///srv/fleet".
	Ref string
	// Attr is the attribute path inside the flake's outputs, one element
	// per attribute name, unquoted: {"nixosConfigurations", "web",
	// "config", "system", "build", "toplevel"}.
	Attr []string
}

// ToplevelAttr returns the attribute path of host's system toplevel in a
// flake's outputs: nixosConfigurations.<host>.config.system.build.toplevel.
func ToplevelAttr(host string) []string {
	return []string{"nixosConfigurations", host, "config", "system", "build", "toplevel"}
}

// Installable returns a as an installable for the nix command line,
// "ref#a.b.c", quoting attribute names that are not plain identifiers.
func (a FlakeAttr) Installable() string {
	var b strings.Builder
	b.WriteString(a.Ref)
	b.WriteByte('#')
	for i, name := range a.Attr {
		if i > 0 {
			b.WriteByte('.')
		}
		if plainAttr(name) {
			b.WriteString(name)
		} else {
			b.WriteByte('"')
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`).Replace(name))
			b.WriteByte('"')
		}
	}
	return b.String()
}

// plainAttr reports whether name can be written unquoted in a Nix
// attribute path.
func plainAttr(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '\''):
		default:
			return false
		}
	}
	return true
}

// A Target is an ssh destination. The zero value means "unset".
type Target struct {
	// Address is the host name or IP address to connect to.
	Address string
	// User is the remote login; empty means ssh's default. A user other
	// than root activates and rolls back through sudo -n, so it needs
	// sudo without a password on the target.
	User string
	// Port is the ssh port; 0 means ssh's default.
	Port int
	// Root is the directory the target's system lives under, as in
	// nixos-install --root: the driver reads <Root>/run/current-system
	// and sets the profile <Root>/nix/var/nix/profiles/system. Empty
	// means "/", a running NixOS host. Tests use it to let one machine
	// stand in for several hosts.
	Root string
	// Substitute lets the target fetch what it can from its own
	// substituters (binary caches) instead of receiving it from the
	// deploying machine.
	Substitute bool
}

// Dest returns the ssh destination "user@address" (or just the address).
func (t Target) Dest() string {
	if t.User == "" {
		return t.Address
	}
	return t.User + "@" + t.Address
}

// IsZero reports whether t is unset.
func (t Target) IsZero() bool { return t.Address == "" }

// Validate reports whether t can be handed to ssh and nix as it is: its
// address is a host name or an IP address, its user a plain login name,
// its port in range. Anything else could be read as an option ("-o…"),
// split into two arguments or, in nix's builders setting, into two
// builders. Root is not checked: it is for tests.
func (t Target) Validate() error {
	if !ValidAddress(t.Address) {
		return fmt.Errorf("%q is not a host name or an IP address", t.Address)
	}
	if t.User != "" && !validUser(t.User) {
		return fmt.Errorf("%q is not a user name (lower-case letters, digits, '_' and '-', not starting with '-')", t.User)
	}
	if t.Port < 0 || t.Port > 65535 {
		return fmt.Errorf("port %d is out of range", t.Port)
	}
	return nil
}

// ValidAddress reports whether s is a DNS host name or an IPv4 or IPv6
// address: what a target, a builder or a build host may be.
func ValidAddress(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if ip := net.ParseIP(s); ip != nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validUser(s string) bool {
	if len(s) > 32 || s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ValidWord reports whether s can stand as one word of nix's builders
// setting (a system type or a system feature): letters, digits and
// "_.+-", not starting with "-".
func ValidWord(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r == '+' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// A BuildWhere says where a host's toplevel is built.
type BuildWhere string

// The places a toplevel can be built.
const (
	// BuildLocal builds on the deploying machine (the zero value).
	BuildLocal BuildWhere = ""
	// BuildRemote builds on BuildPlacement.Host, as nixos-rebuild
	// --build-host does: the derivation is copied there and built, and the
	// result comes back through the deploying machine to the target.
	BuildRemote BuildWhere = "remote"
	// BuildOnTarget copies the derivation to the target and builds it
	// there; the closure never passes through the deploying machine.
	BuildOnTarget BuildWhere = "target"
)

// A BuildPlacement says where a host's toplevel is built. The zero value
// builds locally.
type BuildPlacement struct {
	// Where is the kind of placement.
	Where BuildWhere
	// Host is the build host for BuildRemote; unused otherwise.
	Host Target
	// Builders are the remote machines Nix's distributed builds may hand
	// derivations to when building locally (BuildLocal): the hosts of the
	// fleet with a builder role. Unused otherwise.
	Builders []Builder
}

// A Builder is one remote machine of Nix's distributed builds: one entry
// of the nix builders setting, reached with ssh-ng.
type Builder struct {
	// Target is where the builder is reached over ssh.
	Target Target
	// Systems are the Nix system types it builds for, such as
	// "x86_64-linux"; empty means any the local machine asks for.
	Systems []string
	// MaxJobs is how many builds it runs at once; 0 means 1.
	MaxJobs int
	// SpeedFactor ranks it against other builders, higher first; 0 means 1.
	SpeedFactor int
	// SupportedFeatures are the system features it offers, such as "kvm"
	// or "big-parallel".
	SupportedFeatures []string
	// StoreParams are extra settings of its ssh-ng store URI, such as
	// "remote-store" or "remote-program". Fleets leave them empty; tests
	// use them to give a builder on the deploying machine a store of its
	// own.
	StoreParams map[string]string
}

// An Activation is the switch-to-configuration action used to activate a
// new system.
type Activation string

// The activation modes of switch-to-configuration.
const (
	// Switch makes the new system the boot default and activates it now.
	Switch Activation = "switch"
	// Boot makes the new system the boot default without activating it.
	Boot Activation = "boot"
	// Test activates the new system now without making it the boot default.
	Test Activation = "test"
)

// Valid reports whether a is one of Switch, Boot, Test or empty.
func (a Activation) Valid() bool {
	switch a {
	case "", Switch, Boot, Test:
		return true
	}
	return false
}

// HealthChecks are the checks run after a host is activated. Each check is
// retried until it passes or Timeout expires. The zero value checks nothing.
type HealthChecks struct {
	// SystemState asks the target's systemd for its state and passes when
	// it is "running" (for a degraded system it fails).
	SystemState bool
	// Units are systemd units that must be active on the target.
	Units []string
	// TCP are ports that must accept connections.
	TCP []TCPCheck
	// HTTP are endpoints that must answer.
	HTTP []HTTPCheck
	// Commands are user-defined commands run on the target.
	Commands []CommandCheck
	// Timeout bounds each check, retries included; 0 means 60 seconds.
	Timeout time.Duration
	// Interval is the pause between retries of a failing check; 0 means
	// one second.
	Interval time.Duration
}

// IsZero reports whether hc has no checks.
func (hc HealthChecks) IsZero() bool {
	return !hc.SystemState && len(hc.Units) == 0 && len(hc.TCP) == 0 &&
		len(hc.HTTP) == 0 && len(hc.Commands) == 0
}

// A TCPCheck passes when a TCP connection to Host:Port succeeds from the
// deploying machine.
type TCPCheck struct {
	// Host is the address to dial; empty means the target's address.
	Host string
	// Port is the TCP port.
	Port int
}

// An HTTPCheck passes when a GET of URL from the deploying machine answers
// with the expected status.
type HTTPCheck struct {
	// URL is the endpoint to fetch.
	URL string
	// Status is the expected HTTP status; 0 means any 2xx.
	Status int
}

// A CommandCheck passes when Command, run on the target through its login
// shell, exits with status 0.
type CommandCheck struct {
	// Name is a short label for summaries; empty means the command itself.
	Name string
	// Command is the shell command line run on the target.
	Command string
}

// Rollback configures what the target does on its own when a deployment
// goes wrong. The zero value disables magic rollback; failed activations
// and health checks still roll back, driven by the deployer.
type Rollback struct {
	// Magic makes the target revert to its previous generation by itself
	// unless the deployer confirms the new one within ConfirmTimeout after
	// activation, so a host the deployer has lost (a broken network
	// configuration, a dropped connection) comes back on its own.
	Magic bool
	// ConfirmTimeout is how long the target waits for the confirmation;
	// 0 means 30 seconds.
	ConfirmTimeout time.Duration
	// Disabled turns off the deployer-driven rollback too, leaving a host
	// whose activation or health checks failed on the new generation.
	Disabled bool
	// ActivationTimeout bounds activation itself when Magic is on: the
	// target's watchdog starts counting before activation begins, and an
	// activation still running after ActivationTimeout is killed and
	// rolled back, as is one that dies; 0 means ten minutes.
	ActivationTimeout time.Duration
}

// A FailurePolicy says what a rollout does when a wave fails.
type FailurePolicy string

// The failure policies of a rollout.
const (
	// StopRollout deploys no further wave; hosts of the failed wave that
	// were deployed stay on their new generation (the zero value).
	StopRollout FailurePolicy = ""
	// RollbackWave deploys no further wave and returns the hosts of the
	// failed wave that were deployed to their previous generation.
	RollbackWave FailurePolicy = "rollback"
)

// A Rollout is the fleet-wide policy of a deployment's waves. The zero
// value stops at the first failed wave and activates any number of a
// wave's hosts at once.
type Rollout struct {
	// MaxUnavailable bounds how many hosts of a wave are down at once:
	// from the start of a host's activation until it is confirmed, and
	// for the rest of the deployment once it failed (so once that many
	// failed, no further host of the wave activates); 0 means no bound.
	MaxUnavailable int
	// MaxUnavailablePercent bounds it as a percentage of the wave's hosts,
	// rounded up and at least one; 0 means no bound. With both set, the
	// smaller bound holds.
	MaxUnavailablePercent int
	// OnFailure is what happens when a host of a wave fails.
	OnFailure FailurePolicy
}

// Limit returns how many of a wave of n hosts may be down at once; 0
// means all of them.
func (r Rollout) Limit(n int) int {
	limit := r.MaxUnavailable
	if p := r.MaxUnavailablePercent; p > 0 {
		byPercent := max((n*p+99)/100, 1)
		if limit == 0 || byPercent < limit {
			limit = byPercent
		}
	}
	if limit >= n {
		return 0
	}
	return limit
}
