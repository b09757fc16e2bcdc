// Package nixos knows the option and package surface of NixOS and
// home-manager that fleet writes against, and checks generated
// configuration against it.
//
// The surface is a Manifest: every option path fleet can emit (NixOS,
// home-manager, agenix, disko, microvm.nix) with its declaring file, type
// and known renames; every pkgs attribute path; and the values nixpkgs'
// own modules define that fleet must not contradict. The manifest checked
// in here (manifest.json, embedded) covers the pinned releases; Parse
// reads any manifest of the same format, such as an option index: the
// real option trees of a fleet's locked nixpkgs and home-manager, which
// `fleetgen nixos sync` reads with Nix (ReadIndex; see Index). Check
// walks a generated module's attribute set into option paths and values
// and reports what the manifest rejects.
package nixos

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Format is the manifest format this package reads and writes.
const Format = 1

//go:embed manifest.json
var embedded []byte

var (
	embeddedOnce sync.Once
	embeddedM    *Manifest
	embeddedErr  error
)

// Embedded returns the manifest checked in with fleet, parsed once. The
// result is shared: callers must not modify it.
func Embedded() (*Manifest, error) {
	embeddedOnce.Do(func() {
		embeddedM, embeddedErr = Parse(embedded)
		if embeddedErr != nil {
			embeddedErr = fmt.Errorf("nixos: the embedded manifest: %w", embeddedErr)
		}
	})
	return embeddedM, embeddedErr
}

// A Manifest is the option and package surface of the releases fleet
// writes against. Build one with Parse; a Manifest is safe for concurrent
// use once parsed, and must not be modified after.
type Manifest struct {
	// Format is the format version, Format.
	Format int `json:"format"`
	// Index, when set, says that the manifest is an option index read
	// from a fleet's locked inputs: it lists every option of its trees,
	// so that a path it lacks is no option, and the packages the fleet
	// used when it was read. The manifest checked in with fleet has none.
	Index *Index `json:"index,omitempty"`
	// Trees are the option trees beyond "nixos" and "home-manager" that
	// extend another ("microvm-guest", the NixOS configuration of a
	// MicroVM: NixOS with microvm.nix's guest options), by name.
	Trees map[string]TreeInfo `json:"trees,omitempty"`
	// Sources are where the options and packages come from, by name:
	// "nixpkgs", "home-manager" and the flakes fleet imports modules from.
	Sources map[string]Source `json:"sources"`
	// Options are the option paths, sorted by tree, then path.
	Options []Option `json:"options"`
	// Packages are the pkgs attribute paths, sorted.
	Packages []Package `json:"packages"`
	// Defines are values nixpkgs' own modules define at normal priority
	// that a generated module must not contradict at normal priority.
	Defines []Define `json:"defines"`

	roots map[string]*node
	pkgs  map[string]*Package
	defs  map[string][]*Define
}

// An Index says what an option index was read from.
type Index struct {
	// System is the platform of the configuration read.
	System string `json:"system"`
	// Modules are the flake modules it was made of, every module a host
	// of the fleet imports, as attribute paths of the inputs
	// ("disko.nixosModules.disko"), sorted: the index has their options.
	Modules []string `json:"modules"`
	// Inputs are the generated flake's inputs as its lock file pinned
	// them when the index was read, by input name.
	Inputs map[string]Locked `json:"inputs"`
}

// A Locked is a flake input as a lock file pins it.
type Locked struct {
	// URL is the input's reference as the flake declares it.
	URL string `json:"url,omitempty"`
	// Rev is the locked revision, for inputs that have one.
	Rev string `json:"rev,omitempty"`
	// NarHash is the hash of the locked source.
	NarHash string `json:"narHash"`
	// LastModified is the time of the locked revision, in seconds since
	// the epoch.
	LastModified int64 `json:"lastModified,omitempty"`
}

// A TreeInfo describes an option tree that extends another.
type TreeInfo struct {
	// Extends names the tree whose options this one also has.
	Extends string `json:"extends"`
	// Note says what the tree is.
	Note string `json:"note,omitempty"`
}

// A Source is where options or packages come from.
type Source struct {
	// Release is the release the manifest describes ("nixos-25.05").
	Release string `json:"release"`
	// Stored says which copy was read: commit or date, and whether it is
	// the release branch.
	Stored string `json:"stored"`
	// Flake is the flake reference, without branch, that provides the
	// source ("github:ryantm/agenix"); a generated flake's input whose url
	// starts with it is this source. Empty for nixpkgs.
	Flake string `json:"flake,omitempty"`
	// Modules are the source's NixOS modules, as attribute paths of the
	// flake, that declare its options ("nixosModules.default").
	Modules []string `json:"modules,omitempty"`
}

// An Option is one option path.
type Option struct {
	// Path is the dotted path; attribute names of an attrsOf submodule are
	// <name>, elements of a listOf submodule *, as in nixpkgs'
	// options.json. A component that contains a dot is quoted ("\"a.b\"").
	Path string `json:"path"`
	// Tree is the option tree: "nixos", "home-manager" or a tree of
	// Manifest.Trees. An index leaves out "nixos".
	Tree string `json:"tree,omitempty"`
	// From is the source declaring it, a key of Manifest.Sources. An
	// index leaves out "nixpkgs".
	From string `json:"from,omitempty"`
	// Declared is the declaring file within the source. An index leaves
	// it out when it is the same as the entry's before it.
	Declared string `json:"declared,omitempty"`
	// Type is the option's type; nil for an alias or a removed option.
	Type *Type `json:"type,omitempty"`
	// RenamedTo is, for an alias of another option (nixpkgs'
	// mkRenamedOptionModule), the option it stands for: its definitions
	// are that option's, and NixOS warns about them.
	RenamedTo string `json:"renamedTo,omitempty"`
	// Removed says that the option was removed (mkRemovedOptionModule):
	// a definition of it fails the evaluation; Instead is what nixpkgs
	// says to do instead, when it says it.
	Removed bool   `json:"removed,omitempty"`
	Instead string `json:"instead,omitempty"`
	// Later tells of renames and removals in later releases.
	Later string `json:"later,omitempty"`
	// Note records doubts about the entry (existence in the release,
	// evidence read from another version).
	Note string `json:"note,omitempty"`
}

// A Package is one attribute path of pkgs.
type Package struct {
	// Attr is the attribute path without "pkgs." ("rocmPackages.clr.icd").
	Attr string `json:"attr"`
	// Declared is the file that defines it in nixpkgs, if it is there.
	Declared string `json:"declared,omitempty"`
	// Input is the source (a key of Manifest.Sources) whose flake provides
	// the package when the release of nixpkgs does not.
	Input string `json:"input,omitempty"`
	// Later tells of renames and removals in later releases.
	Later string `json:"later,omitempty"`
	// Note records doubts and explanations.
	Note string `json:"note,omitempty"`
	// Missing says, in an index, that the locked nixpkgs has no such
	// package (or that evaluating it fails); Suggest is the closest
	// attribute it has, if one is close.
	Missing bool   `json:"missing,omitempty"`
	Suggest string `json:"suggest,omitempty"`
}

// A Define is a value a nixpkgs module defines at normal priority.
type Define struct {
	// Path is the concrete option path ("systemd.services.plex.serviceConfig.ProtectSystem").
	Path string `json:"path"`
	// Value is the value the module defines, with the module's defaults.
	Value any `json:"value"`
	// Declared is the module's file.
	Declared string `json:"declared"`
	// When is the option path whose true value makes the module define
	// it ("services.plex.enable"); empty when always.
	When string `json:"when,omitempty"`
	// Note explains the entry.
	Note string `json:"note,omitempty"`
}

// A node is one component of the option trie of a tree.
type node struct {
	opt      *Option
	children map[string]*node
}

func (n *node) child(name string) *node {
	if c := n.children[name]; c != nil {
		return c
	}
	if name != "*" {
		return n.children["<name>"]
	}
	return nil
}

// Parse reads a manifest and checks it: the format version, known trees
// and sources, well-formed types, no path listed twice.
func Parse(data []byte) (*Manifest, error) {
	m, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := m.index(); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseIndex reads an option index, a manifest with an Index, and
// completes it with what base (the embedded manifest) knows that an
// index read from Nix cannot: the values nixpkgs' modules define, and
// the trees that extend others when the index lacks them.
func ParseIndex(data []byte, base *Manifest) (*Manifest, error) {
	m, err := decode(data)
	if err != nil {
		return nil, err
	}
	if m.Index == nil {
		return nil, fmt.Errorf("not an option index: no index header")
	}
	if base != nil {
		m.Defines = append(m.Defines, base.Defines...)
		for name, t := range base.Trees {
			if _, ok := m.Trees[name]; !ok {
				if m.Trees == nil {
					m.Trees = map[string]TreeInfo{}
				}
				m.Trees[name] = t
			}
		}
	}
	if err := m.index(); err != nil {
		return nil, err
	}
	return m, nil
}

// decode reads a manifest without checking it.
func decode(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m.Format != Format {
		return nil, fmt.Errorf("manifest format %d; this fleetgen reads format %d", m.Format, Format)
	}
	if m.Index != nil {
		prev := ""
		for i := range m.Options {
			o := &m.Options[i]
			if o.Tree == "" {
				o.Tree = "nixos"
			}
			if o.From == "" {
				o.From = "nixpkgs"
			}
			if o.Declared == "" {
				o.Declared = prev
			}
			prev = o.Declared
		}
	}
	for i := range m.Defines {
		m.Defines[i].Value = normValue(m.Defines[i].Value)
	}
	return &m, nil
}

// normValue turns the numbers of a decoded JSON value into int64 or
// float64.
func normValue(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = normValue(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normValue(x[k])
		}
	}
	return normNumber(v)
}

// index checks m and builds its lookup structures.
func (m *Manifest) index() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	trees := map[string]bool{"nixos": true, "home-manager": true}
	for name, t := range m.Trees {
		trees[name] = true
		if t.Extends == name {
			bad("tree %s extends itself", name)
		}
	}
	for name, t := range m.Trees {
		if !trees[t.Extends] {
			bad("tree %s extends unknown tree %q", name, t.Extends)
		}
	}
	m.roots = map[string]*node{}
	for tree := range trees {
		m.roots[tree] = &node{}
	}
	for i := range m.Options {
		o := &m.Options[i]
		if !trees[o.Tree] {
			bad("option %s: unknown tree %q", o.Path, o.Tree)
			continue
		}
		if _, ok := m.Sources[o.From]; !ok {
			bad("option %s: unknown source %q", o.Path, o.From)
		}
		switch {
		case (o.RenamedTo != "" || o.Removed) && o.Type != nil:
			bad("option %s: an alias or a removed option has no type", o.Path)
			continue
		case o.RenamedTo != "" && o.Removed:
			bad("option %s: both renamed and removed", o.Path)
			continue
		case o.RenamedTo != "":
			if _, err := SplitPath(o.RenamedTo); err != nil {
				bad("option %s: renamed to %q: %v", o.Path, o.RenamedTo, err)
			}
		case o.Removed:
		default:
			if err := o.Type.validate(); err != nil {
				bad("option %s: %v", o.Path, err)
				continue
			}
		}
		if o.Type != nil && o.Type.Kind == "module" && !trees[o.Type.Tree] {
			bad("option %s: module of unknown tree %q", o.Path, o.Type.Tree)
		}
		names, err := SplitPath(o.Path)
		if err != nil {
			bad("option %s: %v", o.Path, err)
			continue
		}
		n := m.roots[o.Tree]
		for _, c := range names {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			if n.children[c] == nil {
				n.children[c] = &node{}
			}
			n = n.children[c]
		}
		if n.opt != nil {
			bad("option %s of tree %s is listed twice", o.Path, o.Tree)
		}
		n.opt = o
	}
	// A tree that extends another sees the other's options too.
	for name, t := range m.Trees {
		if base := m.roots[t.Extends]; base != nil {
			mergeNodes(m.roots[name], base)
		}
	}
	m.pkgs = map[string]*Package{}
	for i := range m.Packages {
		p := &m.Packages[i]
		if m.pkgs[p.Attr] != nil {
			bad("package %s is listed twice", p.Attr)
		}
		if p.Input != "" {
			if _, ok := m.Sources[p.Input]; !ok {
				bad("package %s: unknown input source %q", p.Attr, p.Input)
			}
		}
		m.pkgs[p.Attr] = p
	}
	m.defs = map[string][]*Define{}
	for i := range m.Defines {
		d := &m.Defines[i]
		m.defs[d.Path] = append(m.defs[d.Path], d)
	}
	return errors.Join(errs...)
}

// mergeNodes adds to dst the options of src that dst lacks.
func mergeNodes(dst, src *node) {
	if dst.opt == nil {
		dst.opt = src.opt
	}
	for k, sc := range src.children {
		if dst.children == nil {
			dst.children = map[string]*node{}
		}
		if dst.children[k] == nil {
			dst.children[k] = &node{}
		}
		mergeNodes(dst.children[k], sc)
	}
}

// Option returns the option of tree at path, a concrete path ("users",
// "users", "alice", "uid") or a pattern ("users.users.<name>.uid"), or
// nil.
func (m *Manifest) Option(tree string, path []string) *Option {
	n := m.roots[tree]
	for _, c := range path {
		if n == nil {
			return nil
		}
		n = n.child(c)
	}
	if n == nil {
		return nil
	}
	return n.opt
}

// Package returns the package at the attribute path attr, or nil.
func (m *Manifest) Package(attr string) *Package { return m.pkgs[attr] }

// Marshal writes m in its canonical form: sources by name, options by
// tree and path, packages by attribute path, defines by path, one entry
// per line, so that a diff shows each changed entry.
func (m *Manifest) Marshal() ([]byte, error) {
	opts := append([]Option(nil), m.Options...)
	sort.SliceStable(opts, func(i, j int) bool {
		if opts[i].Tree != opts[j].Tree {
			return opts[i].Tree < opts[j].Tree
		}
		return opts[i].Path < opts[j].Path
	})
	if m.Index != nil {
		// An index, some 25,000 entries read from Nix, leaves out what
		// Parse fills in: the usual tree and source, and a declaring file
		// the entry before has too.
		prev := ""
		for i := range opts {
			d := opts[i].Declared
			if d == prev {
				opts[i].Declared = ""
			}
			prev = d
			if opts[i].Tree == "nixos" {
				opts[i].Tree = ""
			}
			if opts[i].From == "nixpkgs" {
				opts[i].From = ""
			}
		}
	}
	pkgs := append([]Package(nil), m.Packages...)
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].Attr < pkgs[j].Attr })
	defs := append([]Define(nil), m.Defines...)
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Path < defs[j].Path })

	var b bytes.Buffer
	line := func(v any) error {
		var e bytes.Buffer
		enc := json.NewEncoder(&e)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		b.Write(bytes.TrimRight(e.Bytes(), "\n"))
		return nil
	}
	fmt.Fprintf(&b, "{\"format\": %d,\n", m.Format)
	if m.Index != nil {
		b.WriteString("\"index\": ")
		if err := line(m.Index); err != nil {
			return nil, err
		}
		b.WriteString(",\n")
	}
	// object writes "name": { "key": value, ... } with one key per line.
	object := func(name string, keys []string, at func(string) any) error {
		fmt.Fprintf(&b, "%q: {\n", name)
		for i, k := range keys {
			if err := line(k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := line(at(k)); err != nil {
				return err
			}
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("},\n")
		return nil
	}
	if len(m.Trees) > 0 {
		if err := object("trees", slices.Sorted(maps.Keys(m.Trees)), func(k string) any { return m.Trees[k] }); err != nil {
			return nil, err
		}
	}
	if err := object("sources", slices.Sorted(maps.Keys(m.Sources)), func(k string) any { return m.Sources[k] }); err != nil {
		return nil, err
	}
	list := func(name string, n int, at func(int) any, last bool) error {
		fmt.Fprintf(&b, "%q: [\n", name)
		for i := 0; i < n; i++ {
			if err := line(at(i)); err != nil {
				return err
			}
			if i < n-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("]")
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	if err := list("options", len(opts), func(i int) any { return opts[i] }, false); err != nil {
		return nil, err
	}
	if err := list("packages", len(pkgs), func(i int) any { return pkgs[i] }, false); err != nil {
		return nil, err
	}
	if err := list("defines", len(defs), func(i int) any { return defs[i] }, true); err != nil {
		return nil, err
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// SplitPath splits a dotted option path into its components; a component
// in double quotes may contain dots ("environment.etc.\"a.json\".text").
func SplitPath(p string) ([]string, error) {
	var out []string
	for p != "" {
		if p[0] == '"' {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", p)
			}
			out = append(out, p[1:end+1])
			p = p[end+2:]
		} else {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				i = len(p)
			}
			if i == 0 {
				return nil, fmt.Errorf("empty component")
			}
			out = append(out, p[:i])
			p = p[i:]
		}
		if p == "" {
			break
		}
		if p[0] != '.' {
			return nil, fmt.Errorf("expected a dot after a quoted component")
		}
		p = p[1:]
		if p == "" {
			return nil, fmt.Errorf("trailing dot")
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	return out, nil
}

// JoinPath joins option path components, quoting those that contain a
// dot or a space, as SplitPath reads them.
func JoinPath(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		if strings.ContainsAny(n, ". ") || n == "" {
			parts[i] = `"` + n + `"`
		} else {
			parts[i] = n
		}
	}
	return strings.Join(parts, ".")
}
