package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue/format"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/disko"
	"fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/internal/merge"
	"fleetnix.dev/fleet/schema"
)

// A Config says which fleet to load.
type Config struct {
	// Dir is the directory package patterns are relative to; it must be
	// inside a CUE module. Empty means the current directory.
	Dir string
	// Packages are CUE package patterns: "." (the default) or "./...".
	Packages []string
	// Overlay maps absolute file paths to contents used instead of, or in
	// addition to, the files on disk.
	Overlay map[string][]byte
	// Tags are CUE build tags.
	Tags []string
	// NixOS also computes each host's NixOS and home-manager
	// configurations, which Generate needs. It is most of the cost of a
	// load, so commands that only look at the model leave it off.
	NixOS bool
	// CacheDir, when set, keeps the result of each host's evaluation
	// there, under the hash of everything it depends on (this program,
	// the schema, the host's merged value): a later load evaluates only
	// the hosts that changed. Results are never stale, failures are not
	// kept, and entries unused for five days are removed. Empty means no
	// cache.
	CacheDir string
	// Progress, when not nil, is told how many hosts are evaluated of
	// how many, as the load goes; it is called from several goroutines.
	Progress func(done, total int)
}

// A Fleet is a loaded and checked fleet. Its methods are not safe for
// concurrent use.
type Fleet struct {
	l        *load.Fleet
	hosts    []*Host
	byName   map[string]*Host
	warnings Errors
	// checked is how many hosts' values checkHosts checked, for tests.
	checked int
	// secrets are the secrets secret decoded, by name: the source map
	// of secrets.nix asks for every secret for each of its values. Their
	// maps are shared: readers must not change them.
	secretsMu sync.Mutex
	// secretFacts* memoize hostSecretFacts.
	secretFactsOnce sync.Once
	secretFactsRes  []hostSecrets
	secretFactsErr  error
	// secretFactsRead counts the hosts hostSecretFacts read from their
	// values (tests).
	secretFactsRead atomic.Int64
	secrets         map[string]secretValue
	// kept are places the source map found in hosts' values.
	kept keptOrigins
}

// A Host is one host of a fleet with its final value.
type Host struct {
	// Name is the host's name, its key under hosts.
	Name string
	// Template is the name of the host template it uses, if any.
	Template string
	// HardwareProfile is the name of its hardware profile, if any.
	HardwareProfile string
	// Tags are the host's tags, sorted.
	Tags []string
	// Users are the users on the host, in the order they were declared.
	Users []User

	h  *load.Host
	lf *load.Fleet
	// t is the host's merged tree, once asked for (see tree).
	t *merge.Node
	// layout is the host's disk layout, checked, or nil; adminKeys may
	// log in to its installer.
	layout    *disko.Layout
	adminKeys []string
	// loader is the host's boot loader, which its installer installs;
	// efiVariables says whether that writes the firmware's boot entries.
	loader       string
	efiVariables bool
}

// A User is a user on a host and the home-manager profiles composed for
// them there.
type User struct {
	Name     string   `json:"name"`
	Profiles []string `json:"profiles"`
}

// Load reads the fleet cfg names, merges every host's layers and unifies
// each with the schema. On failure the error is Errors, listing every
// problem found, each at the user's file:line:col.
func Load(ctx context.Context, cfg *Config) (*Fleet, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	memo := &leafMemo{}
	lf, diags := load.Load(ctx, &load.Config{
		Dir: dir, Args: cfg.Packages, Overlay: cfg.Overlay, Tags: cfg.Tags, Schema: schema.FS, NixOS: cfg.NixOS,
		CacheDir: cfg.CacheDir, Partial: true, Progress: cfg.Progress, HoldBatch: true,
		// Each host's values are checked while the load has its tree.
		Check: func(h *load.Host, tree *merge.Node, secrets []string) any {
			return checkHost(h.Name, tree, secrets, memo)
		},
	})
	if lf == nil {
		return nil, fromDiag(diags)
	}
	// The checks' entries join the load's in the cache's index.
	defer lf.EndBatch()
	f := &Fleet{l: lf, byName: map[string]*Host{}}
	if diags.HasErrors() {
		// The hosts that loaded are checked further all the same, so one
		// run reports every error that does not depend on another.
		f.addHosts()
		diags = append(diags, f.checkPorts(f.hosts)...)
		if lf.ValuesOK {
			diags = append(diags, f.checkValues(f.hosts, nil)...)
			diags = append(diags, f.checkInputs(f.hosts)...)
			for _, d := range f.checkDisks() {
				if d.Severity == diag.Error {
					diags = append(diags, d)
				}
			}
		}
		diags.Sort()
		return nil, fromDiag(diags)
	}
	for _, d := range diags {
		f.warnings = append(f.warnings, fromDiag(diag.List{d})...)
	}
	f.addHosts()
	if d := f.checkHosts(); len(d) > 0 {
		d.Sort()
		return nil, fromDiag(d)
	}
	if d := f.checkDisks(); d.HasErrors() {
		return nil, fromDiag(d)
	} else if len(d) > 0 {
		f.warnings = append(f.warnings, fromDiag(d)...)
	}
	// The hosts' trees are merged again when asked for: for a large
	// fleet they are most of the memory a load keeps.
	lf.ReleaseTrees()
	for _, h := range f.hosts {
		h.t = nil
		h.h.Checked = nil
	}
	return f, nil
}

// tree returns the host's merged tree with the provenance of every leaf,
// merged again the first time it is asked for after the load and kept.
func (h *Host) tree() *merge.Node {
	if h.t == nil {
		h.t = h.lf.Tree(h.h)
	}
	return h.t
}

// addHosts makes the fleet's hosts from those load returned.
func (f *Fleet) addHosts() {
	lf := f.l
	for _, lh := range lf.Hosts {
		h := &Host{Name: lh.Name, Template: lh.Template, HardwareProfile: lh.HardwareProfile, Tags: lh.Tags, h: lh, lf: lf}
		for _, u := range lh.Users {
			h.Users = append(h.Users, User{Name: u.Name, Profiles: u.Profiles})
		}
		f.hosts = append(f.hosts, h)
		f.byName[h.Name] = h
	}
}

// Hosts returns the fleet's hosts sorted by name.
func (f *Fleet) Hosts() []*Host { return f.hosts }

// Host returns the host called name, or nil.
func (f *Fleet) Host(name string) *Host { return f.byName[name] }

// Warnings returns problems that did not stop the load, such as a vendored
// schema that differs from the one fleetgen embeds.
func (f *Fleet) Warnings() Errors { return f.warnings }

// Select returns the hosts named by patterns, in fleet order: a host name,
// or "@tag" for every host with that tag. No patterns selects every host.
// An unknown name or a tag no host has is an error.
func (f *Fleet) Select(patterns ...string) ([]*Host, error) {
	if len(patterns) == 0 {
		return f.hosts, nil
	}
	want := map[string]bool{}
	for _, p := range patterns {
		if tag, ok := strings.CutPrefix(p, "@"); ok {
			n := 0
			for _, h := range f.hosts {
				for _, t := range h.Tags {
					if t == tag {
						want[h.Name] = true
						n++
					}
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("no host has tag %q%s", tag, f.suggestTag(tag))
			}
			continue
		}
		if f.byName[p] == nil {
			return nil, fmt.Errorf("unknown host %q%s", p, f.suggestHost(p))
		}
		want[p] = true
	}
	var out []*Host
	for _, h := range f.hosts {
		if want[h.Name] {
			out = append(out, h)
		}
	}
	return out, nil
}

func (f *Fleet) suggestHost(name string) string {
	names := make([]string, len(f.hosts))
	for i, h := range f.hosts {
		names[i] = h.Name
	}
	if s := diag.Nearest(name, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return " (hosts: " + strings.Join(names, ", ") + ")"
}

func (f *Fleet) suggestTag(tag string) string {
	seen := map[string]bool{}
	var tags []string
	for _, h := range f.hosts {
		for _, t := range h.Tags {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	sort.Strings(tags)
	if s := diag.Nearest(tag, tags); s != "" {
		return fmt.Sprintf("; did you mean @%s?", s)
	}
	if len(tags) == 0 {
		return " (no host has tags)"
	}
	return " (tags: " + strings.Join(tags, ", ") + ")"
}

// JSON returns the host's final value as JSON, schema defaults filled in
// and keys in schema order.
func (h *Host) JSON() []byte { return h.h.JSON() }

// Value returns the host's final value as Go data: map[string]any for
// structs, []any, string, bool, nil, and json.Number for numbers (so
// integers keep every digit).
func (h *Host) Value() (map[string]any, error) { return decodeObject(h.h.JSON()) }

// CUE returns the host's final value in CUE syntax, formatted.
func (f *Fleet) CUE(h *Host) ([]byte, error) {
	ctx, err := f.l.Context()
	if err != nil {
		return nil, err
	}
	v := ctx.CompileBytes(h.h.JSON())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return format.Node(v.Syntax())
}

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
