package nixos

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// syncNix is the Nix function that reads a configuration's option tree
// and packages (see sync.nix).
//
//go:embed sync.nix
var syncNix string

// SyncExpr is the expression `fleetgen nixos sync` evaluates (nix eval
// --impure --expr): it reads the option trees and packages of the
// generated flake named by $FLEET_SYNC_FLAKE with the SyncArgs in
// $FLEET_SYNC_ARGS (JSON). It is a constant: the flake's reference and
// the args reach Nix only through the environment, as data.
var SyncExpr = "let b = builtins; in (" + strings.TrimSpace(stripComments(syncNix)) +
	") (b.getFlake (b.getEnv \"FLEET_SYNC_FLAKE\")) (b.fromJSON (b.getEnv \"FLEET_SYNC_ARGS\"))"

// SyncEnv returns the environment SyncExpr reads: the generated flake's
// reference and args, for the part "options" (the option trees and
// packages) or "removed" (the instructions of removed options, read
// apart because reading every assertion's message may fail where the
// option tree does not).
func SyncEnv(flake string, args SyncArgs, part string) ([]string, error) {
	args.Part = part
	b, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	return []string{"FLEET_SYNC_FLAKE=" + flake, "FLEET_SYNC_ARGS=" + string(b)}, nil
}

// SyncArgs are the data the sync expression reads a configuration with.
type SyncArgs struct {
	// Part is "options" or "removed" (see SyncEnv).
	Part string `json:"part"`
	// System is the platform of the configuration.
	System string `json:"system"`
	// Imports are the flake modules the configuration is made of, as
	// attribute paths of the flake's inputs, split.
	Imports [][]string `json:"imports"`
	// Modules are the options whose values are whole modules of another
	// tree (home-manager's users, a MicroVM's NixOS configuration): their
	// sub-options are that tree's.
	Modules []SyncModule `json:"modules"`
	// Packages are the pkgs attribute paths to look up, split.
	Packages [][]string `json:"packages"`
}

// A SyncModule is an option of the nixos tree whose value is a module of
// Tree; Roots, when set, are the only top-level names of that tree read
// below it (the rest is the tree it extends, read already).
type SyncModule struct {
	Path  []string `json:"path"`
	Tree  string   `json:"tree"`
	Roots []string `json:"roots"`
}

// SyncArgsFor returns what the sync expression needs to read an index
// like m (the embedded manifest) for a configuration of system made of
// the flake modules imports ("agenix.nixosModules.default"): m's
// module-valued options, and the packages, pkgs attribute paths, sorted
// and without duplicates.
func SyncArgsFor(m *Manifest, system string, imports, packages []string) SyncArgs {
	args := SyncArgs{System: system, Imports: [][]string{}, Modules: []SyncModule{}, Packages: [][]string{}}
	for _, i := range imports {
		args.Imports = append(args.Imports, strings.Split(i, "."))
	}
	for _, o := range m.Options {
		if o.Tree != "nixos" || o.Type == nil {
			continue
		}
		mt := moduleTree(o.Type)
		if mt == "" {
			continue
		}
		names, err := SplitPath(o.Path)
		if err != nil {
			continue
		}
		sm := SyncModule{Path: names, Tree: mt}
		if t, ok := m.Trees[mt]; ok && t.Extends != "" {
			roots := map[string]bool{}
			for _, oo := range m.Options {
				if oo.Tree == mt {
					if n, err := SplitPath(oo.Path); err == nil {
						roots[n[0]] = true
					}
				}
			}
			sm.Roots = slices.Sorted(maps.Keys(roots))
		}
		args.Modules = append(args.Modules, sm)
	}
	pkgs := slices.Clone(packages)
	slices.Sort(pkgs)
	for _, p := range slices.Compact(pkgs) {
		args.Packages = append(args.Packages, strings.Split(p, "."))
	}
	return args
}

// moduleTree returns the tree of the module type t holds, through
// attrsOf, listOf, nullOr and uniq, or "".
func moduleTree(t *Type) string {
	switch t.Kind {
	case "module":
		return t.Tree
	case "attrsOf", "listOf", "nullOr", "uniq":
		return moduleTree(t.Of)
	}
	return ""
}

// stripComments drops the leading comment lines of a Nix file.
func stripComments(src string) string {
	var out []string
	lines := strings.Split(src, "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
		i++
	}
	out = append(out, lines[i:]...)
	return strings.Join(out, "\n")
}

// rawRead is what the sync expression returns for one configuration.
type rawRead struct {
	Options  []rawOption       `json:"options"`
	Packages []rawPackage      `json:"packages"`
	Top      []string          `json:"top"`
	Inputs   map[string]string `json:"inputs"`
}

type rawOption struct {
	P  []string `json:"p"`
	Tr string   `json:"tr"`
	D  string   `json:"d"`
	T  *rawType `json:"t"`
	A  string   `json:"a"`
	Rm bool     `json:"rm"`
	Sh bool     `json:"sh"`
	M  bool     `json:"m"`
}

type rawPackage struct {
	S string   `json:"s"`
	I int      `json:"i"`
	N []string `json:"n"`
}

type rawType struct {
	N  string   `json:"n"`
	V  []any    `json:"v"`
	VK bool     `json:"vk"`
	E  *rawType `json:"e"`
	L  *rawType `json:"l"`
	R  *rawType `json:"r"`
	F  *rawType `json:"f"`
	C  *rawType `json:"c"`
	Fi *rawType `json:"fi"`
	S  *string  `json:"s"`
	D  string   `json:"d"`
}

// BuildIndex assembles an option index from what SyncExpr read with
// args: options, its part "options", and removed, its part "removed"
// (nil when that could not be read), completed by base (the embedded
// manifest) with the types of the module-valued options and the trees
// that extend others. The index is deterministic: the same reads give
// the same bytes.
func BuildIndex(base *Manifest, ix Index, args SyncArgs, options, removed []byte) (*Manifest, error) {
	m := &Manifest{Format: Format, Index: &ix, Trees: maps.Clone(base.Trees), Sources: map[string]Source{},
		Options: []Option{}, Packages: []Package{}, Defines: []Define{}}
	specs := map[string]SyncModule{}
	for _, s := range args.Modules {
		specs[JoinPath(s.Path)] = s
	}
	seen := map[string]bool{}
	pkgState := map[string]*Package{}
	{
		var raw rawRead
		dec := json.NewDecoder(bytes.NewReader(options))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("reading the option tree: %v", err)
		}
		if len(raw.Packages) != len(args.Packages) {
			return nil, fmt.Errorf("%d packages read, %d asked for", len(raw.Packages), len(args.Packages))
		}
		instead := removedInstructions(removed)
		stores := storePaths(raw.Inputs)
		for _, ro := range raw.Options {
			o, ok := convertOption(ro, specs, base)
			if !ok {
				continue
			}
			key := o.Tree + "\x00" + o.Path
			if seen[key] {
				continue
			}
			seen[key] = true
			o.From, o.Declared = declaredBy(ro.D, stores)
			if o.Declared == "" {
				o.Declared = "<unknown-file>"
			}
			if o.Removed {
				o.Instead = instead[o.Path]
			}
			if _, ok := m.Sources[o.From]; !ok {
				m.Sources[o.From] = sourceOf(o.From, ix)
			}
			m.Options = append(m.Options, o)
		}
		for i, p := range raw.Packages {
			attr := strings.Join(args.Packages[i], ".")
			if pkgState[attr] != nil {
				continue
			}
			pk := &Package{Attr: attr}
			if p.S != "ok" {
				pk.Missing = true
				path := args.Packages[i]
				at := min(p.I, len(path)-1)
				names := p.N
				if at == 0 {
					names = raw.Top
				}
				if sug := diag.Nearest(path[at], names); sug != "" {
					pk.Suggest = strings.Join(append(slices.Clone(path[:at]), sug), ".")
				}
			}
			pkgState[attr] = pk
		}
	}
	if _, ok := m.Sources["nixpkgs"]; !ok {
		m.Sources["nixpkgs"] = sourceOf("nixpkgs", ix)
	}
	for _, attr := range slices.Sorted(maps.Keys(pkgState)) {
		m.Packages = append(m.Packages, *pkgState[attr])
	}
	sort.SliceStable(m.Options, func(i, j int) bool {
		if m.Options[i].Tree != m.Options[j].Tree {
			return m.Options[i].Tree < m.Options[j].Tree
		}
		return m.Options[i].Path < m.Options[j].Path
	})
	inheritDeclared(m.Options)
	if err := m.index(); err != nil {
		return nil, fmt.Errorf("the index read is not consistent: %v", err)
	}
	return m, nil
}

// inheritDeclared gives an option whose declaring file is unknown (an
// option of a submodule written inline, which the module system may not
// know the file of) the file of the nearest option above it.
func inheritDeclared(opts []Option) {
	by := map[string]*Option{}
	for i := range opts {
		by[opts[i].Tree+"\x00"+opts[i].Path] = &opts[i]
	}
	for i := range opts {
		o := &opts[i]
		if strings.HasSuffix(o.Declared, ".nix") {
			continue
		}
		names, err := SplitPath(o.Path)
		if err != nil {
			continue
		}
		for k := len(names) - 1; k > 0; k-- {
			if up := by[o.Tree+"\x00"+JoinPath(names[:k])]; up != nil && strings.HasSuffix(up.Declared, ".nix") {
				o.Declared, o.From = up.Declared, up.From
				break
			}
		}
	}
}

// sourceOf describes the input name as the index's lock pins it.
func sourceOf(name string, ix Index) Source {
	l := ix.Inputs[name]
	stored := "locked, narHash " + l.NarHash
	if l.Rev != "" {
		stored = "locked at revision " + l.Rev
	}
	rel := l.URL
	if rel == "" {
		rel = name
	}
	return Source{Release: rel, Stored: stored, Flake: l.URL}
}

// convertOption turns an option as the sync expression read it into an
// entry of the index: its path relative to its tree, its type.
func convertOption(ro rawOption, specs map[string]SyncModule, base *Manifest) (Option, bool) {
	path := make([]string, len(ro.P))
	for i, c := range ro.P {
		if c != "*" && strings.HasPrefix(c, "<") && strings.HasSuffix(c, ">") {
			c = "<name>" // a module's own placeholder (<user>)
		}
		path[i] = c
	}
	ro.P = path
	o := Option{Tree: ro.Tr}
	if ro.Tr != "nixos" {
		// An option of a module-valued option's tree: its path below the
		// option and the placeholders of the option's type.
		var spec *SyncModule
		for _, s := range specs {
			if s.Tree == ro.Tr && len(path) > len(s.Path) && slices.Equal(path[:len(s.Path)], s.Path) {
				s := s
				spec = &s
				break
			}
		}
		if spec == nil {
			return Option{}, false
		}
		path = path[len(spec.Path):]
		for len(path) > 0 && (path[0] == "<name>" || path[0] == "*") {
			path = path[1:]
		}
		if len(path) == 0 {
			return Option{}, false
		}
	}
	o.Path = JoinPath(path)
	switch {
	case ro.M:
		if bo := base.Option("nixos", ro.P); bo != nil && bo.Type != nil {
			o.Type = bo.Type
		} else {
			o.Type = &Type{Kind: "unspecified"}
		}
	case ro.A != "":
		target := aliasTarget(ro.A)
		if target == "" {
			o.Type = &Type{Kind: "unspecified"}
			break
		}
		// An alias inside a tree names its target relative to the tree,
		// as mkRenamedOptionModule was given it.
		o.RenamedTo = target
	case ro.Rm:
		o.Removed = true
	default:
		o.Type = ro.T.toType(!ro.Sh)
	}
	return o, true
}

// aliasRx reads the option an alias stands for from its description,
// as nixpkgs' doRename writes it (Markdown, or DocBook before 23.05).
var aliasRx = regexp.MustCompile("^Alias of (?:\\{option\\}`([^`]+)`|<option>([^<]+)</option>)")

func aliasTarget(desc string) string {
	m := aliasRx.FindStringSubmatch(desc)
	if m == nil {
		return ""
	}
	t := m[1] + m[2]
	if _, err := SplitPath(t); err != nil {
		return ""
	}
	return t
}

// removedRx reads a removed option's path and instructions from the
// message of its assertion, as mkRemovedOptionModule words it.
var removedRx = regexp.MustCompile("(?s)^The option definition `([^']+)' in .*? no longer has any effect; please remove it\\.\n(.*)$")

// removedInstructions returns the instructions of removed options by
// option path, read from the messages RemovedExpr returned.
func removedInstructions(data []byte) map[string]string {
	out := map[string]string{}
	var msgs []string
	if json.Unmarshal(data, &msgs) != nil {
		return out
	}
	for _, msg := range msgs {
		m := removedRx.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		if _, err := SplitPath(m[1]); err != nil {
			continue
		}
		out[m[1]] = strings.Join(strings.Fields(m[2]), " ")
	}
	return out
}

// A storePath is the store path of an input's source.
type storePath struct{ name, path string }

// storePaths returns the inputs' store paths, longest first, nixpkgs
// before others of the same path (inputs may share one).
func storePaths(inputs map[string]string) []storePath {
	var out []storePath
	for name, p := range inputs {
		if p != "" {
			out = append(out, storePath{name, strings.TrimSuffix(p, "/") + "/"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if len(a.path) != len(b.path) {
			return len(a.path) > len(b.path)
		}
		if a.path != b.path {
			return a.path < b.path
		}
		if (a.name == "nixpkgs") != (b.name == "nixpkgs") {
			return a.name == "nixpkgs"
		}
		return a.name < b.name
	})
	return out
}

// nixStore matches a store path's object.
var nixStore = regexp.MustCompile(`^/nix/store/[0-9a-z]{32}-[^/]+/`)

// declaredBy returns the input that declares an option in file, and the
// file's path within that input's source.
func declaredBy(file string, stores []storePath) (string, string) {
	for _, s := range stores {
		if rest, ok := strings.CutPrefix(file, s.path); ok {
			return s.name, rest
		}
	}
	if loc := nixStore.FindStringIndex(file); loc != nil {
		return "nixpkgs", file[loc[1]:]
	}
	return "nixpkgs", file
}

// intRangeRx reads the bounds of an integer type from its description.
var intRangeRx = regexp.MustCompile(`between (-?[0-9]+) and (-?[0-9]+)`)

// toType converts a type as the sync expression read it. walked says
// that the sub-options of a submodule here were read into the index
// (through the types that pass them on: attrsOf, listOf, nullOr, uniq,
// the final type of coercedTo); a submodule elsewhere becomes attrs, an
// attribute set of anything, since the index has none of its options.
// Types the index cannot check (functions, types of other modules, deep
// recursion) become unspecified: anything goes.
func (r *rawType) toType(walked bool) *Type {
	if r == nil {
		return &Type{Kind: "unspecified"}
	}
	sub := func(x *rawType, w bool) *Type { return x.toType(w) }
	switch n := r.N; {
	case n == "bool" || n == "boolByOr":
		return &Type{Kind: "bool"}
	case n == "int" || n == "intBetween" || n == "positiveInt" || n == "unsignedInt" || strings.HasSuffix(n, "Int8") || strings.HasSuffix(n, "Int16") || strings.HasSuffix(n, "Int32") || strings.HasSuffix(n, "Int64"):
		if m := intRangeRx.FindStringSubmatch(r.D); m != nil {
			lo, err1 := strconv.ParseInt(m[1], 10, 64)
			hi, err2 := strconv.ParseInt(m[2], 10, 64)
			if err1 == nil && err2 == nil {
				return &Type{Kind: "ints.between", Min: &lo, Max: &hi}
			}
		}
		switch n {
		case "positiveInt":
			one := int64(1)
			return &Type{Kind: "ints.positive", Min: &one}
		case "unsignedInt":
			zero := int64(0)
			return &Type{Kind: "ints.unsigned", Min: &zero}
		}
		return &Type{Kind: "int"}
	case n == "float":
		return &Type{Kind: "float"}
	case n == "number":
		return &Type{Kind: "number"}
	case n == "str" || n == "string":
		return &Type{Kind: "str"}
	case n == "nonEmptyStr" || n == "singleLineStr" || n == "lines":
		return &Type{Kind: n}
	case n == "separatedString" && r.S != nil:
		return &Type{Kind: "separatedString", Sep: *r.S}
	case strings.HasPrefix(n, "strMatching "):
		pat, err := syntax.Unquote(strings.TrimPrefix(n, "strMatching "))
		if err == nil {
			t := &Type{Kind: "strMatching", Pattern: pat}
			if t.validate() == nil {
				return t
			}
		}
		return &Type{Kind: "str"}
	case n == "path":
		return &Type{Kind: "path"}
	case n == "package" || n == "shellPackage":
		return &Type{Kind: "package"}
	case n == "attrs" || n == "anything" || n == "unspecified" || n == "raw":
		return &Type{Kind: n}
	case n == "enum":
		if !r.VK || len(r.V) == 0 {
			return &Type{Kind: "unspecified"}
		}
		vals := make([]any, len(r.V))
		for i, v := range r.V {
			vals[i] = normNumber(v)
		}
		return &Type{Kind: "enum", Values: vals}
	case (n == "listOf" || n == "attrsOf" || n == "lazyAttrsOf" || n == "nullOr" || n == "uniq" || n == "unique") && r.E != nil:
		kind := map[string]string{"listOf": "listOf", "attrsOf": "attrsOf", "lazyAttrsOf": "attrsOf", "nullOr": "nullOr", "uniq": "uniq", "unique": "uniq"}[n]
		return &Type{Kind: kind, Of: sub(r.E, walked)}
	case n == "either" && r.L != nil && r.R != nil:
		return &Type{Kind: "either", OneOf: []*Type{sub(r.L, false), sub(r.R, false)}}
	case n == "coercedTo" && r.C != nil && r.Fi != nil:
		return &Type{Kind: "either", OneOf: []*Type{sub(r.Fi, walked), sub(r.C, false)}}
	case n == "submodule":
		if !walked {
			return &Type{Kind: "attrs"}
		}
		t := &Type{Kind: "submodule"}
		if r.F != nil {
			t.Freeform = sub(r.F, false)
		}
		return t
	}
	return &Type{Kind: "unspecified"}
}
