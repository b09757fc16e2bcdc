// Package load reads a fleet written in CUE, checks every layer against the
// schema's partial forms, merges each host's layers with provenance, and
// unifies the result once with the schema's #Host.
//
// The schema embedded in the binary is overlaid at
// cue.mod/pkg/<SchemaImportPath> of the user's module, so user files import
// it as they would a vendored copy and the directory on disk is left as it
// is. A vendored copy that differs from the embedded one is reported as a
// warning.
package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"
	"golang.org/x/sync/errgroup"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// SchemaImportPath is the CUE import path of the fleet schema.
const SchemaImportPath = "fleetnix.dev/fleet/schema"

// A Path is a CUE path in a fleet package or in the schema.
type Path string

// Paths of the fleet package and the schema the loader reads.
const (
	HostsPath     Path = "hosts"
	TemplatesPath Path = "templates"
	HardwarePath  Path = "hardware"
	ProfilesPath  Path = "profiles"
	UsersPath     Path = "users"
	SecretsPath   Path = "secrets"
	SettingsPath  Path = "settings"
	HostDef       Path = "#Host"
	HostSpecDef   Path = "#HostSpec"
	HostExportDef Path = "#HostExport"
	SettingsDef   Path = "#SettingsFull"
	SecretDef     Path = "#SecretFull"
	FleetDef      Path = "#Fleet"
	// FleetFactsDef aggregates every host's #facts once (pass 2).
	FleetFactsDef Path = "#FleetFacts"
	// DeriveDef computes what a host gets from the fleet's facts.
	DeriveDef Path = "#Derive"
)

// Fields of a host (and template) that name other layers.
const (
	templateField        = "template"
	hardwareProfileField = "hardwareProfile"
	usersField           = "users"
	profilesField        = "profiles"
	homeField            = "home"
	hardwareField        = "hardware"
	nameField            = "name"
	tagsField            = "tags"
	nixosDef             = "#nixos"
	nixosField           = "nixos"
	inputsField          = "inputs"
	factsDef             = "#facts"
	listenersDef         = "#listeners"
	inputsDef            = "#inputs"
	homeDef              = "#hm"
	checksDef            = "#checks"
	stateVersionField    = "stateVersion"
)

// A Config says what to load.
type Config struct {
	// Dir is the directory the package patterns are relative to. It must
	// be inside a CUE module (a directory with cue.mod/module.cue).
	Dir string
	// Args are CUE package patterns ("." or "./..."). Empty means ".".
	Args []string
	// Overlay maps absolute file paths to contents that replace or add to
	// the files on disk.
	Overlay map[string][]byte
	// Tags are CUE build tags (@if, @tag).
	Tags []string
	// Schema holds the schema's *.cue files (package schema).
	Schema fs.FS
	// NixOS asks for each host's NixOS configuration (#Host.#nixos) and
	// each user's home-manager configuration (#hm) as well: what the
	// generator needs, and most of the cost of unification.
	NixOS bool
	// CacheDir, when set, is where the results of each host's evaluation
	// are kept for later loads (see cache). Empty means no cache.
	CacheDir string
	// Partial asks Load to return, along with errors, the hosts that
	// loaded without error, so the caller can check them further and
	// report every independent error in one run.
	Partial bool
	// Progress, when not nil, is told how many hosts are unified of how
	// many, from the goroutines that unify them.
	Progress func(done, total int)
	// Check, when not nil, is called with each host this load merges
	// and unifies without error, and its merged tree, before the load
	// drops the tree; what it returns is kept as Host.Checked. It is
	// called from several goroutines. Secrets are the names of the
	// fleet's declared secrets, sorted: those of Fleet.Secrets when
	// Fleet.ValuesOK.
	Check func(h *Host, tree *merge.Node, secrets []string) any
	// HoldBatch leaves the cache's batch of puts (see Cache.Batch) open
	// when Load returns a Fleet, for the caller's own puts: it closes it
	// with Fleet.EndBatch, writing the index once.
	HoldBatch bool
}

// A Fleet is a loaded, merged and unified fleet.
type Fleet struct {
	// ModRoot is the root directory of the CUE module.
	ModRoot string
	// EndBatch closes the batch of puts Config.HoldBatch left open; it
	// does nothing otherwise, and may be called more than once.
	EndBatch func()
	// Hosts are the fleet's hosts, sorted by name.
	Hosts []*Host
	// Warnings are problems that do not stop the load, such as a vendored
	// schema that differs from the embedded one.
	Warnings diag.List
	// Settings are the fleet's settings as JSON, defaults filled in.
	Settings []byte
	// Secrets are the declared secrets as JSON, defaults filled in, by
	// name.
	Secrets map[string][]byte
	// Users are the fleet's user accounts as declared (users.<name>),
	// as JSON, by name: the keys a secret's recipients name, whether or
	// not the user is on a host.
	Users map[string][]byte
	// Decls says where each fleet-level entry is declared, by its path
	// ("secrets.api-openai", "templates.server").
	Decls map[string]diag.Range
	// Partial says that errors left some hosts out (Config.Partial), or
	// the fleet pass undone; ValuesOK, that Settings and Secrets are
	// complete all the same.
	Partial, ValuesOK bool

	// ctx and schema serve Value after the load. The package evaluated
	// during the load is not kept: for a large fleet it is most of the
	// memory, and nothing needs it once every host is merged.
	ctx       *cue.Context
	schema    cue.Value
	schemaCfg *load.Config
	// cache keeps results for later loads, and for Known and Remember;
	// nil without one.
	cache *cache
	// layers are the fleet's entries, which Tree merges a released
	// host's tree from again.
	layers *layers
}

// A Host is one host after merging and unification.
type Host struct {
	Name            string
	Template        string
	HardwareProfile string
	Tags            []string
	Users           []HostUser
	// Tree is the merged value with the provenance of every leaf, kept
	// only for a host whose unification failed: the load drops each
	// host's tree once it is unified and checked (Config.Check), and
	// Fleet.Tree merges it again.
	Tree *merge.Node
	// Checked is what Config.Check returned for the host, when this load
	// merged and unified it; nil for a host taken from the cache.
	Checked any
	// Provenance is the hash of the entries the host is merged from and
	// where each is declared, when the fleet was read entry by entry:
	// hosts with the same Provenance have the same Tree. Nil otherwise.
	Provenance []byte
	// Key is the hash of everything the host's value and configurations
	// (all of Host but Derived) are computed from: its Provenance, this
	// program and the schema, and what the load computes (Config.NixOS).
	// Results the layers above compute from those alone can be kept
	// under it. Nil without a cache or Provenance.
	Key []byte
	// deps are the entries the host is merged from, in order.
	deps []entryID
	// shared is the key of the name-free result the host's unification
	// was taken from (see unifyShared), when there is one.
	shared string
	// valueJSON, nixosJSON and fragsJSON are what JSON, NixOS and
	// Fragments return: the host's own or, when named is set, the name-free ones
	// (see memo.go) of the hosts that differ from it only by name, which
	// those give with the host's name. They are most of what a host
	// keeps after the load: a fleet of clones keeps them once.
	valueJSON, nixosJSON, fragsJSON []byte
	named                           bool
	// Home is each user's home-manager configuration (#hm) as JSON, when
	// Config.NixOS is set.
	Home map[string][]byte
	// Inputs are the flake inputs the host's features need (#inputs), as
	// JSON, when the schema says.
	Inputs []byte
	// Facts are what the host tells the rest of the fleet (#facts, pass
	// 1), and Derived the NixOS configuration it gets from the fleet's
	// facts (#Derive.#nixos, pass 2), as JSON; both empty when the schema
	// has no fleet pass.
	Facts, Derived []byte
	// Listeners are the sockets the host's enabled services listen on
	// (#listeners), as JSON, when the schema says.
	Listeners []byte
	// Decl is where the host is declared.
	Decl diag.Range
	// Doc is the doc comment of the host's declaration, one line per
	// element, without comment markers.
	Doc []string
	// Fixed are the paths of the host's value its template and its users'
	// profiles mark as fixed, which the layers above must not override.
	Fixed []FixedPath
}

// A HostUser is a user on a host and the profiles composed for them.
type HostUser struct {
	Name     string
	Profiles []string
}

// Load reads, checks, merges and unifies the fleet cfg names. It returns
// every problem it found, in plain words at the user's own positions; the
// Fleet is nil when any is an error, unless cfg.Partial asks for the hosts
// that loaded.
//
// Problems of one host do not hide those of another: a host whose own
// value, or a layer it uses, is in error is left out of the later stages,
// and the others go on to be merged and unified. The fleet pass, which
// needs every host, runs only when all loaded.
func Load(ctx context.Context, cfg *Config) (*Fleet, diag.List) {
	embeds := map[diag.Range]bool{}
	f, diags := loadFleet(ctx, cfg, embeds)
	if diags.HasErrors() && f != nil {
		f.Partial = true
		if !cfg.Partial {
			f.EndBatch()
			f = nil
		}
	}
	diags = plainWords(diags, cfg.Schema, embeds)
	// Rewording makes the errors CUE reports once per branch of a
	// disjunction the same: sorting drops the copies.
	diags.Sort()
	return f, diags
}

// loadFleet is Load, in CUE's words; it records in embeds where the user's
// files embed the schema. A fleet read entry by entry (see entryLayers)
// that has errors is read again whole, so that its errors are those of
// the package evaluated whole, at the same positions, every entry with
// its CUE value.
func loadFleet(ctx context.Context, cfg *Config, embeds map[diag.Range]bool) (*Fleet, diag.List) {
	f, diags, byEntry := loadFleetAs(ctx, cfg, embeds, wholePackage)
	if byEntry && diags.HasErrors() {
		if f != nil {
			f.EndBatch()
		}
		clear(embeds)
		f, diags, _ = loadFleetAs(ctx, cfg, embeds, true)
	}
	return f, diags
}

// loadFleetAs is loadFleet, reading the package whole when whole is set;
// byEntry says that it was read entry by entry.
func loadFleetAs(ctx context.Context, cfg *Config, embeds map[diag.Range]bool, whole bool) (ret *Fleet, _ diag.List, byEntry bool) {
	var diags diag.List
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		diags.Errorf(diag.Range{}, "%v", err)
		return nil, diags, false
	}
	root, ok := findModRoot(dir)
	if !ok {
		diags.Errorf(diag.Range{File: dir}, "no CUE module here or above (no cue.mod/module.cue); run \"fleetgen init\"")
		return nil, diags, false
	}
	f := &Fleet{ModRoot: root, EndBatch: func() {}}
	pctx := cuecontext.New()
	overlay, warn, err := schemaOverlay(root, cfg.Schema)
	if err != nil {
		diags.Errorf(diag.Range{}, "reading the embedded schema: %v", err)
		return nil, diags, false
	}
	f.Warnings = warn
	for name, b := range cfg.Overlay {
		overlay[name] = load.FromBytes(b)
	}
	args := cfg.Args
	if len(args) == 0 {
		args = []string{"."}
		if dir != root && !hasCUEFiles(dir) {
			// As go finds go.mod: from a directory of the module that
			// holds no CUE, the fleet is the module's.
			dir = root
		}
	}
	// The schema the fleet's settings and secrets are completed with is
	// built in a context of its own, on another core, while the fleet's
	// package is loaded and evaluated.
	schemaCfg := &load.Config{Dir: root, Overlay: overlay}
	type builtSchema struct {
		ctx *cue.Context
		v   cue.Value
		d   diag.List
	}
	var schemaDone chan builtSchema
	startSchema := func() {
		if schemaDone != nil {
			return
		}
		schemaDone = make(chan builtSchema, 1)
		go func() {
			c := cuecontext.New()
			v, d := buildSchema(c, schemaCfg)
			schemaDone <- builtSchema{c, v, d}
		}()
	}
	c := openCache(cfg.CacheDir, cfg.Schema)
	c.useIndex(root)
	f.EndBatch = sync.OnceFunc(c.batch())
	defer func() {
		if ret == nil || !cfg.HoldBatch {
			f.EndBatch()
		}
	}()
	f.cache = c
	if c == nil || whole {
		// Without a cache the settings and secrets are completed on
		// every load; with one, only when they changed (see
		// fleetValuesRecord).
		startSchema()
	}
	// The fleet is read entry by entry (see entryLayers): with a cache,
	// only the entries that changed are evaluated; without, all of them,
	// in batches. When the fleet cannot be read so, or has errors, the
	// package is evaluated whole.
	srcs := &sources{c: c, headers: c != nil && !whole, files: map[string]*srcFile{}}
	lcfg := &load.Config{Dir: dir, Overlay: overlay, Tags: cfg.Tags, ParseFile: srcs.parse}
	insts := load.Instances(args, lcfg)
	var layers *layers
	var divided *packageEntries
	if !whole && len(insts) == 1 && insts[0].Err == nil && importsSchema(insts[0]) {
		layers, divided = entryLayers(ctx, c, insts[0], srcs, cfg.Tags)
		byEntry = layers != nil
	}
	if layers == nil {
		if srcs.headerOnly() {
			srcs = &sources{c: c, files: map[string]*srcFile{}}
			lcfg.ParseFile = srcs.parse
			insts = load.Instances(args, lcfg)
		}
		var d diag.List
		if layers, d = wholeLayers(ctx, pctx, insts, args, dir, root, embeds); layers == nil {
			return nil, d, false
		}
		diags = append(diags, d...)
		if c != nil && len(insts) == 1 && divided == nil && !d.HasErrors() {
			if p, ok := srcs.divide(insts[0], cfg.Tags); ok {
				entries := entriesOf(layers)
				p.provenance(entries)
				p.keep(c, entries)
			}
		}
	} else {
		for _, inst := range insts {
			maps.Copy(embeds, schemaEmbeds(inst.Files))
		}
		srcs.release()
	}
	f.schemaCfg = schemaCfg
	diags = append(diags, layers.checkRecipients()...)
	f.Decls = layers.decls
	f.layers = layers
	flag := loadFlag(cfg.NixOS)
	f.Users = layers.declaredUsers()
	// The fleet's settings and secrets come first: their errors are
	// placed with the entries' CUE values, which are dropped before the
	// hosts are unified.
	var valuesKey string
	if byEntry {
		valuesKey = layers.valuesKey(c)
	}
	if r := (fleetValuesRecord{}); valuesKey != "" && c.get(valuesKey, &r) {
		// Completed and checked by an earlier load, from the same
		// entries.
		f.Settings, f.Secrets, f.ValuesOK = r.settings, r.secrets, true
	} else {
		startSchema()
		schema := <-schemaDone
		if schema.d != nil {
			return nil, schema.d, byEntry
		}
		vd := layers.checkNames(schema.v)
		if !layers.brokenValues() {
			fd := f.fleetValues(schema.ctx, schema.v, layers)
			vd = append(vd, fd...)
			f.ValuesOK = !fd.HasErrors()
		}
		diags = append(diags, vd...)
		if valuesKey != "" && len(vd) == 0 && f.ValuesOK {
			c.put(valuesKey, &fleetValuesRecord{f.Settings, f.Secrets})
		}
	}
	if byEntry && diags.HasErrors() {
		// Read again whole (loadFleet): nothing of this load is kept.
		return nil, diags, true
	}
	// The values were kept for placing the errors found so far; they
	// keep what CUE evaluated them in alive.
	for _, e := range entriesOf(layers) {
		e.value = cue.Value{}
	}
	hs, errs, err := layers.streamHosts(ctx, &streamConfig{
		c: c, schemaCfg: schemaCfg, flag: flag, nixos: cfg.NixOS, byEntry: byEntry,
		check: cfg.Check, progress: cfg.Progress,
	})
	if err != nil {
		diags.Errorf(diag.Range{}, "%v", err)
		return nil, diags, byEntry
	}
	diags = append(diags, hs.diags...)
	diags = append(diags, layers.diags...)
	if byEntry && diags.HasErrors() {
		return nil, diags, true
	}
	f.Hosts = hs.hosts
	failed := map[*Host]bool{}
	for i, h := range hs.todo {
		if errs[i] != nil {
			diags = append(diags, hostDiags(h, errs[i])...)
			h.Tree = nil
			failed[h] = true
		} else if hs.record[i] {
			layers.remember(c, flag, h)
		}
	}
	unified := f.Hosts[:0:0]
	for _, h := range f.Hosts {
		if !failed[h] {
			unified = append(unified, h)
		}
	}
	f.Hosts = unified
	diags.Sort()
	if diags.HasErrors() {
		// The fleet pass needs every host's facts.
		return f, append(diags, f.Warnings...), byEntry
	}
	if d := derive(ctx, schemaCfg, c, f.Hosts); len(d) > 0 {
		diags = append(diags, d...)
		diags.Sort()
		if diags.HasErrors() {
			return f, diags, byEntry
		}
	}
	return f, append(diags, f.Warnings...), byEntry
}

// wholeLayers evaluates the fleet packages insts whole and reads their
// entries; it records in embeds where the files embed the schema. It
// returns nil layers when no host can be read; a package with errors in
// some entries gives the others, those entries recorded as broken.
func wholeLayers(ctx context.Context, pctx *cue.Context, insts []*build.Instance, args []string, dir, root string, embeds map[diag.Range]bool) (*layers, diag.List) {
	var diags diag.List
	var fleets []cue.Value
	var files []*ast.File
	// invalid says that a fleet package has errors in some of its
	// entries: those are left out of the later stages.
	invalid, unreadable := false, false
	for _, inst := range insts {
		maps.Copy(embeds, schemaEmbeds(inst.Files))
		if inst.Err != nil {
			if d, ok := noPackages(inst.Err, dir, root); ok {
				diags.Add(d)
			} else {
				diags = append(diags, cueDiags(inst.Err, nil)...)
			}
			unreadable = true
			continue
		}
		if !importsSchema(inst) {
			// Not a fleet package (the schema itself, a helper package):
			// still checked, but it contributes no hosts.
			v := pctx.BuildInstance(inst)
			diags = append(diags, validate(v)...)
			continue
		}
		v := pctx.BuildInstance(inst)
		if d := validate(v); len(d) > 0 {
			diags = append(diags, d...)
			if _, err := v.Fields(); err != nil {
				continue // the package as a whole is in error
			}
			invalid = true
		}
		fleets = append(fleets, v)
		files = append(files, inst.Files...)
	}
	diags = append(diags, nulDiags(files)...)
	if unreadable || len(fleets) == 0 && diags.HasErrors() {
		// Files that do not parse or packages that do not load say
		// nothing reliable about any host.
		diags.Sort()
		return nil, diags
	}
	if len(fleets) == 0 {
		diags.Errorf(diag.Range{File: dir}, "no fleet package in %s: no CUE package here imports %q", strings.Join(args, " "), SchemaImportPath)
		return nil, diags
	}
	layers, d := collect(ctx, fleets, files, invalid)
	return layers, append(diags, d...)
}

// wholePackage makes every load evaluate the package whole, as a fleet
// that cannot be read entry by entry is: the reference the tests compare
// reading entries with.
var wholePackage = false

// buildSchema loads and builds the schema package in ctx.
func buildSchema(ctx *cue.Context, cfg *load.Config) (cue.Value, diag.List) {
	insts := load.Instances([]string{SchemaImportPath}, cfg)
	if len(insts) != 1 {
		var d diag.List
		d.Errorf(diag.Range{}, "loading the schema: %d instances", len(insts))
		return cue.Value{}, d
	}
	if insts[0].Err != nil {
		return cue.Value{}, cueDiags(insts[0].Err, nil)
	}
	v := ctx.BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		return cue.Value{}, cueDiags(err, nil)
	}
	if !v.LookupPath(cue.ParsePath(string(HostDef))).Exists() {
		var d diag.List
		d.Errorf(diag.Range{}, "the schema has no %s", HostDef)
		return cue.Value{}, d
	}
	return v, nil
}

// A streamConfig says how streamHosts loads the hosts: with the cache c,
// the schema built from schemaCfg, for loads of flag (loadFlag) with or
// without NixOS; byEntry says that the fleet was read entry by entry.
type streamConfig struct {
	c              *cache
	schemaCfg      *load.Config
	flag           []byte
	nixos, byEntry bool
	check          func(h *Host, tree *merge.Node, secrets []string) any
	progress       func(done, total int)
}

// streamed is what streamHosts loaded: the hosts merged (or taken from
// the cache), in name order; of those, the ones unified by this load
// (todo), with whether each may be recorded for later loads; and the
// problems of merging, in name order.
type streamed struct {
	hosts, todo []*Host
	record      []bool
	diags       diag.List
}

// streamHosts merges every host and unifies it with the schema, on one
// worker per CPU (at most 8), each with a CUE context and schema of its
// own (CUE values are not safe for concurrent use), built only when a
// host is not in the cache. Each host goes through both steps, and
// check, at once, and its merged tree is dropped then: only the trees
// of the hosts in flight are alive, not the fleet's (Fleet.Tree merges
// one again when asked). A host whose unification fails keeps its tree,
// which its errors are placed with: the error of todo[i] is errs[i],
// which the caller turns into diagnostics on one goroutine. Hosts an
// earlier load recorded from the same entries are taken from the cache
// (see hostRecord). A fleet read entry by entry is read again whole when
// a host fails to merge: the hosts left are then merged, not unified.
func (l *layers) streamHosts(ctx context.Context, sc *streamConfig) (*streamed, []error, error) {
	names := l.hostNames()
	n := min(runtime.NumCPU(), 8, len(names))
	// Closedness is off in the workers: every layer was checked against
	// the closed partial schema already, and checking it again per host
	// costs about a fifth of the unification.
	workers := newWorkers(n, sc.schemaCfg, cuecontext.CUE_DEBUG("opendef"))
	merged := make([]*Host, len(names))
	mdiags := make([]diag.List, len(names))
	kept := make([]bool, len(names))
	errs := make([]error, len(names))
	shared := &sharedResults{c: sc.c}
	var secrets []string
	if sc.check != nil {
		secrets = keys(l.secrets)
	}
	var memo hostMemo
	var bad atomic.Bool
	var done atomic.Int64
	err := parallel(ctx, n, len(names), func(wi, i int) {
		if sc.progress != nil {
			defer func() { sc.progress(int(done.Add(1)), len(names)) }()
		}
		if sc.byEntry {
			if h := l.remembered(sc.c, shared, sc.flag, names[i]); h != nil {
				merged[i], kept[i] = h, true
				return
			}
		}
		h, d := l.mergeHost(names[i])
		merged[i], mdiags[i] = h, d
		if d.HasErrors() {
			bad.Store(true)
		}
		if h == nil {
			return
		}
		h.Key = resultKey(sc.c, sc.flag, h.Provenance)
		l.encodeHost(names[i])
		if sc.byEntry && bad.Load() {
			return // the fleet is read again whole
		}
		if errs[i] = unifyHost(&memo, sc.c, &workers[wi], sc.flag, h, sc.nixos); errs[i] != nil {
			return
		}
		if sc.check != nil {
			h.Checked = sc.check(h, h.Tree, secrets)
		}
		h.Tree = nil
	})
	if err == nil {
		err = initErr(workers)
	}
	if err != nil {
		return nil, nil, err
	}
	s := &streamed{}
	var todoErrs []error
	for i, h := range merged {
		s.diags = append(s.diags, mdiags[i]...)
		if h != nil {
			s.hosts = append(s.hosts, h)
			if !kept[i] {
				s.todo = append(s.todo, h)
				s.record = append(s.record, sc.byEntry && len(mdiags[i]) == 0)
				todoErrs = append(todoErrs, errs[i])
			}
		}
	}
	return s, todoErrs, nil
}

// unifyHost unifies h, merged, in w: the name-free result shared with
// the hosts that differ from it only by name when it can (unifyShared),
// its own evaluation otherwise.
func unifyHost(memo *hostMemo, c *cache, w *worker, flag []byte, h *Host, nixos bool) error {
	data := h.Tree.Data()
	if parts, key := unifyShared(memo, c, w, flag, h, data, nixos); parts != nil {
		if h.setShared(parts) {
			h.shared = key
			return nil
		}
	}
	// The host's own evaluation: its result could not be shared, or
	// failed (and then the errors are those of its own value).
	if err := w.init(); err != nil {
		return err
	}
	defer w.evaluated()
	return h.unify(w.ctx, w.def(HostDef), data, nixos)
}

// loadFlag names what a load computes of each host, for the cache's
// keys: its NixOS configurations too, or only its model.
func loadFlag(nixos bool) []byte {
	if nixos {
		return []byte("nixos")
	}
	return []byte("model")
}

// unifyShared returns the name-free result of unifying h's merged value
// data (see memoName): from memo when a host of this load had the same
// value but for its name, else from the cache c, else evaluated in w and
// kept in both, and the key the cache keeps it under ("" without a
// cache). It returns nil when the result cannot be shared, or the
// evaluation fails: the host is then evaluated with its own name.
func unifyShared(memo *hostMemo, c *cache, w *worker, flag []byte, h *Host, data any, nixos bool) ([][]byte, string) {
	m, ok := data.(map[string]any)
	if !ok || !hostNameRx.MatchString(h.Name) {
		return nil, ""
	}
	free := make(map[string]any, len(m))
	for k, v := range m {
		free[k] = v
	}
	free[nameField] = memoName
	b, ok := canonical(free)
	if !ok || bytes.Count(b, memoBytes) != 1 {
		return nil, ""
	}
	key := c.key("host", flag, b)
	kept := key
	if c == nil {
		sum := sha256.Sum256(b)
		key = string(sum[:])
	}
	return memo.do(key, func() [][]byte {
		r := &Host{Name: memoName, Users: h.Users}
		if c.get(key, r) {
			return r.parts()
		}
		if w.init() != nil {
			return nil
		}
		defer w.evaluated()
		if r.unify(w.ctx, w.def(HostDef), free, nixos) != nil {
			return nil
		}
		parts := r.parts()
		if !nameFree(parts) {
			return nil
		}
		c.put(key, r)
		return parts
	}), kept
}

// A worker is a CUE context of its own with the schema built in it, for
// one goroutine. It is made on first use: a load whose results are all
// in the cache builds no schema.
type worker struct {
	cfg    *load.Config
	opts   []cuecontext.Option
	ctx    *cue.Context
	schema cue.Value
	defs   map[Path]cue.Value
	err    error
	// evals counts the evaluations in ctx (see evaluated).
	evals int
}

// evalsPerContext bounds the evaluations a worker's context holds: CUE
// keeps what a context evaluated for as long as the context lives, so a
// worker starts a new context, and builds its schema again (about 0.05
// CPU-s), after so many, and the memory of a pass over the hosts follows
// the work in flight, not the fleet.
const evalsPerContext = 400

// evaluated records an evaluation in w's context; the next init starts a
// new context when the context holds evalsPerContext of them.
func (w *worker) evaluated() {
	if w.evals++; w.evals >= evalsPerContext {
		w.ctx, w.schema, w.defs, w.evals = nil, cue.Value{}, nil, 0
	}
}

func newWorkers(n int, cfg *load.Config, opts ...cuecontext.Option) []worker {
	ws := make([]worker, n)
	for i := range ws {
		ws[i] = worker{cfg: cfg, opts: opts}
	}
	return ws
}

// init builds w's context and schema, once.
func (w *worker) init() error {
	if w.ctx != nil || w.err != nil {
		return w.err
	}
	ctx := cuecontext.New(w.opts...)
	s, d := buildSchema(ctx, w.cfg)
	if d != nil {
		w.err = d.Err()
		return w.err
	}
	w.ctx, w.schema, w.defs = ctx, s, map[Path]cue.Value{}
	return nil
}

// def returns the schema's definition at p, looked up once.
func (w *worker) def(p Path) cue.Value {
	v, ok := w.defs[p]
	if !ok {
		v = w.schema.LookupPath(cue.ParsePath(string(p)))
		w.defs[p] = v
	}
	return v
}

// initErr returns the first error of building a worker's schema.
func initErr(ws []worker) error {
	for _, w := range ws {
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// parts lists, for the cache, what unification records of h: JSON,
// NixOS, Inputs, Facts, Listeners, Fragments and, when Home is set, a
// marker followed by each user's name and configuration.
func (h *Host) parts() [][]byte {
	out := [][]byte{h.JSON(), h.NixOS(), h.Inputs, h.Facts, h.Listeners, h.Fragments()}
	if h.Home != nil {
		out = append(out, []byte{})
		for _, u := range slices.Sorted(maps.Keys(h.Home)) {
			out = append(out, []byte(u), h.Home[u])
		}
	}
	return out
}

// setParts records what parts lists; it changes nothing and reports false
// when p is not such a list.
func (h *Host) setParts(p [][]byte) bool {
	const fixed = 6 // the parts before Home's marker
	if len(p) < fixed || len(p) > fixed && len(p)%2 == 0 {
		return false
	}
	h.valueJSON, h.nixosJSON, h.Inputs, h.Facts, h.Listeners, h.fragsJSON, h.Home = p[0], p[1], p[2], p[3], p[4], p[5], nil
	h.named = false
	if len(p) > fixed {
		h.Home = map[string][]byte{}
		for i := fixed + 1; i < len(p); i += 2 {
			h.Home[string(p[i])] = p[i+1]
		}
	}
	return true
}

// setShared records the name-free result parts (see memo.go) as h's:
// its value, NixOS configuration and fragments kept as they are, shared
// with the hosts that differ from h only by name, and given with h's
// name when asked for; the rest with h's name now. It changes nothing
// and reports false when parts is no result (see setParts).
func (h *Host) setShared(parts [][]byte) bool {
	own := slices.Clone(parts)
	for i := range own {
		if i != 0 && i != 1 && i != 5 { // JSON, NixOS, Fragments: see parts
			own[i] = withName(own[i:i+1], h.Name)[0]
		}
	}
	if !h.setParts(own) {
		return false
	}
	h.named = true
	return true
}

// JSON returns the final value as JSON, schema defaults filled in.
func (h *Host) JSON() []byte { return h.withName(h.valueJSON) }

// NixOS returns the host's NixOS configuration (#nixos) as JSON, when
// Config.NixOS is set; nil otherwise.
func (h *Host) NixOS() []byte { return h.withName(h.nixosJSON) }

// Fragments say which part of the host computes which NixOS and
// home-manager values, when Config.NixOS is set: for every struct of the
// host's value with a #nixos or #hm definition, or a pool of values
// several parts add to (#packages, #groups, #tcpPorts, #udpPorts), those
// definitions as JSON, by the struct's path (as FormatPath writes it).
// The emitter's source map uses them to put each computed value at the
// user's field that caused it.
func (h *Host) Fragments() []byte { return h.withName(h.fragsJSON) }

// withName returns b, one of h's results, with h's name when it is
// name-free.
func (h *Host) withName(b []byte) []byte {
	if !h.named || b == nil {
		return b
	}
	return withName([][]byte{b}, h.Name)[0]
}

// unify unifies data, the merged value of h, with hostDef in ctx and
// records its JSON, its facts and, when nixos is set, its NixOS
// configurations.
func (h *Host) unify(ctx *cue.Context, hostDef cue.Value, data any, nixos bool) error {
	v := hostDef.Unify(ctx.Encode(data))
	if err := v.Validate(cue.Concrete(true)); err != nil {
		return withMissing(v, err)
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	h.valueJSON = b
	if f := v.LookupPath(cue.MakePath(cue.Def(factsDef))); f.Exists() {
		if h.Facts, err = f.MarshalJSON(); err != nil {
			return err
		}
	}
	if in := v.LookupPath(cue.MakePath(cue.Def(inputsDef))); in.Exists() {
		if h.Inputs, err = in.MarshalJSON(); err != nil {
			return err
		}
	}
	if l := v.LookupPath(cue.MakePath(cue.Def(listenersDef))); l.Exists() {
		if h.Listeners, err = l.MarshalJSON(); err != nil {
			return err
		}
	}
	if nixos {
		return h.nixos(v)
	}
	return nil
}

// withMissing adds to err, the errors of validating v, the required
// fields v lacks: CUE leaves them out once a check has failed (a missing
// stateVersion hides behind a missing boot loader), yet they are
// independent of it, and the user fixes both at once.
func withMissing(v cue.Value, err error) error {
	all := cueerrors.Errors(err)
	for _, e := range all {
		if format, _ := e.Msg(); strings.Contains(format, "required but not present") {
			return err // CUE reported them
		}
	}
	var base []string
	for _, s := range v.Path().Selectors() {
		base = append(base, s.String())
	}
	out := cueerrors.Error(nil)
	for _, e := range all {
		out = cueerrors.Append(out, e)
	}
	it, ierr := v.Fields(cue.Optional(true))
	if ierr != nil {
		return err
	}
	for it.Next() {
		sel := it.Selector()
		if sel.ConstraintType() == cue.RequiredConstraint && sel.IsString() {
			if !it.Value().IsConcrete() || it.Value().Validate(cue.Concrete(true)) != nil {
				path := append(base[:len(base):len(base)], sel.Unquoted())
				out = cueerrors.Append(out, &missingField{path: path, pos: it.Value().Pos()})
			}
			continue
		}
		for _, e := range cueerrors.Errors(it.Value().Validate(cue.Concrete(true))) {
			if format, _ := e.Msg(); strings.Contains(format, "required but not present") {
				out = cueerrors.Append(out, e)
			}
		}
	}
	return out
}

// A missingField is a required field without a value.
type missingField struct {
	path []string
	pos  token.Pos
}

func (e *missingField) Position() token.Pos         { return e.pos }
func (e *missingField) InputPositions() []token.Pos { return nil }
func (e *missingField) Path() []string              { return e.path }
func (e *missingField) Msg() (string, []any)        { return "field is required but not present", nil }
func (e *missingField) Error() string {
	return strings.Join(e.path, ".") + ": field is required but not present"
}

// parallel calls work(w, i) for every i in [0, n) on workers goroutines;
// w names the goroutine, so each can use state of its own (a CUE context).
// It stops early only when ctx is cancelled, and returns ctx's error then.
func parallel(ctx context.Context, workers, n int, work func(w, i int)) error {
	var next atomic.Int64
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				work(w, i)
			}
		})
	}
	return g.Wait()
}

// nixos records the NixOS and home-manager configurations of the unified
// host v.
func (h *Host) nixos(v cue.Value) error {
	b, err := v.LookupPath(cue.MakePath(cue.Def(nixosDef))).MarshalJSON()
	if err != nil {
		return err
	}
	h.nixosJSON = b
	h.Home = map[string][]byte{}
	for _, u := range h.Users {
		b, err := v.LookupPath(cue.MakePath(cue.Str(usersField), cue.Str(u.Name), cue.Def(homeDef))).MarshalJSON()
		if err != nil {
			return err
		}
		h.Home[u.Name] = b
	}
	h.fragsJSON, err = fragments(v, h.valueJSON)
	return err
}

// declaredUsers returns the fleet's users as declared, as JSON, by name
// (Fleet.Users).
func (l *layers) declaredUsers() map[string][]byte {
	users := map[string][]byte{}
	for _, name := range keys(l.users) {
		// A user in error is reported where hosts merge it.
		if e := l.users[name]; e.data != nil && !l.broken[string(UsersPath)+"."+name] {
			if b, err := json.Marshal(e.data); err == nil {
				users[name] = b
			}
		}
	}
	return users
}

// fleetValues records the fleet's settings and secrets with the schema's
// defaults filled in.
func (f *Fleet) fleetValues(ctx *cue.Context, schema cue.Value, l *layers) diag.List {
	var diags diag.List
	full := func(def Path, e *entry, extra map[string]any, at ...string) ([]byte, bool) {
		// The user's value is closed by the partial schema it was checked
		// against; the full definition adds fields, so unify its data.
		data := map[string]any{}
		if e != nil {
			if e.dataDiags != nil {
				diags = append(diags, e.dataDiags...)
				return nil, false
			}
			if m, ok := e.data.(map[string]any); ok {
				data = maps.Clone(m)
			}
		}
		for k, x := range extra {
			data[k] = x
		}
		var root *cue.Value
		if e != nil && e.value.Exists() {
			root = &e.value
		}
		u := schema.LookupPath(cue.ParsePath(string(def))).Unify(ctx.Encode(data))
		if err := u.Validate(cue.Concrete(true)); err != nil {
			// A value read from the cache has no CUE value; its errors
			// are found again when the package is read whole.
			v := ctx.CompileString("{}")
			if root != nil {
				v = *root
			}
			diags = append(diags, valueDiags(err, v, at)...)
			return nil, false
		}
		b, err := u.MarshalJSON()
		if err != nil {
			diags = append(diags, cueDiags(err, root)...)
			return nil, false
		}
		return b, true
	}
	if b, ok := full(SettingsDef, l.settings, nil, string(SettingsPath)); ok {
		f.Settings = b
	}
	f.Secrets = map[string][]byte{}
	for _, name := range keys(l.secrets) {
		if b, ok := full(SecretDef, l.secrets[name], map[string]any{nameField: name}, string(SecretsPath), name); ok {
			f.Secrets[name] = b
		}
	}
	return diags
}

// valueDiags converts the errors of completing v, a fleet-level value at
// path at (settings, secrets.<name>), with its full definition: the
// definition's name leaves the path, which starts at at, and each error
// is placed where the user wrote the nearest part of v, never in the
// schema (the completion works on v's data, whose positions are lost).
func valueDiags(err error, v cue.Value, at []string) diag.List {
	var out diag.List
	for _, d := range cueDiags(err, nil) {
		rel := d.Path
		if len(rel) > 0 && strings.HasPrefix(rel[0], "#") {
			rel = rel[1:]
		}
		path := append(append([]string(nil), at...), rel...)
		d.Summary = strings.Replace(d.Summary, FormatPath(d.Path), FormatPath(path), 1)
		d.Path = path
		// The nearest part of v the user wrote.
		pos := userPos(v)
		for i := len(rel); i > 0; i-- {
			if x := v.LookupPath(cuePath(rel[:i])); x.Exists() {
				pos = userPos(x)
				break
			}
		}
		if r := merge.Range(pos); r.Start.IsValid() && label(r.File) != "schema" {
			d.Range = r
		}
		d.Related = nil
		out = append(out, d)
	}
	return out
}

// ReleaseTrees drops every host's Tree, keeping only what Tree needs to
// merge it again: the memory of a large fleet's trees is most of what a
// load keeps. It is not safe for concurrent use with Tree.
func (f *Fleet) ReleaseTrees() {
	if f.layers == nil {
		return
	}
	for _, h := range f.Hosts {
		h.Tree = nil
	}
	f.layers.release()
}

// Tree returns the merged tree of h: h.Tree, or after ReleaseTrees a tree
// merged again, which is not kept. It is safe for concurrent use.
func (f *Fleet) Tree(h *Host) *merge.Node {
	if h.Tree != nil || f.layers == nil {
		return h.Tree
	}
	again, _ := f.layers.mergeHost(h.Name)
	if again == nil {
		return nil
	}
	return again.Tree
}

// Entry returns the decoded tree of h's own entry (hosts.<name>), the
// layer Tree merges last onto its template, hardware profile, users and
// their profiles (Host's Template, HardwareProfile and Users name them):
// two hosts of one fleet with the same of those and entries alike but
// for positions have trees alike but for those positions. The tree is
// not kept, and must not be modified; nil when the fleet keeps no
// layers. It is safe for concurrent use.
func (f *Fleet) Entry(h *Host) *merge.Tree {
	if f.layers == nil {
		return nil
	}
	he := f.layers.hosts[h.Name]
	if he == nil {
		return nil
	}
	return f.layers.use(he)
}

// Value returns the unified value of h in the fleet's CUE context, for
// looking up where schema defaults came from. It is not safe for
// concurrent use.
func (f *Fleet) Value(h *Host) (cue.Value, error) {
	if err := f.init(); err != nil {
		return cue.Value{}, err
	}
	hostDef := f.schema.LookupPath(cue.ParsePath(string(HostDef)))
	return hostDef.Unify(f.ctx.Encode(f.Tree(h).Data())), nil
}

// Context returns a CUE context for work on the loaded fleet. It is not
// safe for concurrent use.
func (f *Fleet) Context() (*cue.Context, error) {
	if err := f.init(); err != nil {
		return nil, err
	}
	return f.ctx, nil
}

// init builds the context and schema Value and Context use, once.
func (f *Fleet) init() error {
	if f.ctx != nil {
		return nil
	}
	ctx := cuecontext.New()
	s, d := buildSchema(ctx, f.schemaCfg)
	if d != nil {
		return d.Err()
	}
	f.ctx, f.schema = ctx, s
	return nil
}

// hostDiags converts errors of a host's final unification. Positions CUE
// gives inside the user's files are kept; where it gives none there (the
// merged value was built from data), the provenance of the path supplies
// the user's position.
func hostDiags(h *Host, err error) diag.List {
	var out diag.List
	for _, e := range cueerrors.Errors(err) {
		path := labels(e.Path())
		if len(path) > 0 && path[0] == string(HostDef) {
			path = path[1:]
		}
		format, args := e.Msg()
		if len(path) == 2 && path[0] == checksDef {
			if msg, ok := checkMessage(args); ok {
				out = append(out, checkDiag(h, path[1], msg))
				continue
			}
		}
		node, depth := h.Tree.Nearest(path)
		r := h.Decl
		var related []diag.Related
		switch {
		case node.Leaf() != nil:
			r = node.Leaf().Range
		case depth < len(path):
			// The path is not in the user's data: something below node is
			// missing, or the schema computed it. When two of the user's
			// entries collide there (a keybinding chord bound twice), the
			// conflicting values name them: point at each.
			if named := namedEntries(node, args); len(named) > 0 {
				r = named[0].Range
				related = append(related, named[1:]...)
				break
			}
			if o := node.Decl(); o != nil && depth > 0 && o.Range.Start.IsValid() {
				if o.Source.Layer == merge.Host {
					// The host's own struct: what is missing goes there.
					r = o.Range
					break
				}
				related = append(related, diag.Related{Range: o.Range,
					Message: fmt.Sprintf("%s is set by %s", FormatPath(path[:depth]), o.Source)})
			}
		case node.Decl() != nil && node.Decl().Range.Start.IsValid():
			r = node.Decl().Range
		}
		msg := fmt.Sprintf(format, args...)
		if strings.HasPrefix(format, "conflicting values") {
			var user any
			if l := node.Leaf(); l != nil && depth == len(path) {
				user = l.Value
			}
			if rule, ok := schemaRule(args, user); ok {
				msg = rule + messageSummary
			}
		}
		d := diag.Diagnostic{
			Severity: diag.Error,
			Range:    r,
			Path:     append([]string{string(HostsPath), h.Name}, path...),
			Summary:  fmt.Sprintf("%s: %s", FormatPath(append([]string{string(HostsPath), h.Name}, path...)), msg),
			Related:  related,
		}
		required := strings.Contains(format, "required but not present")
		if len(path) == 1 && path[0] == stateVersionField && required {
			d.Detail = `stateVersion is the NixOS release the host is first installed with ("25.05" for a new host); never change it afterwards: NixOS keeps the formats of the host's stateful data by it`
		}
		for _, p := range cueerrors.Positions(e) {
			if required && label(p.Filename()) == "schema" {
				continue // where the schema requires it says nothing more
			}
			r := merge.Range(p)
			if r.File != "" && r != d.Range {
				d.Related = append(d.Related, diag.Related{Range: r, Message: label(r.File)})
			}
		}
		out = append(out, d)
	}
	return collapse(out)
}

// checkMessage returns the message of a failed #checks entry: the string
// among the conflicting values.
func checkMessage(args []any) (string, bool) {
	for _, a := range args {
		if s, err := strconv.Unquote(fmt.Sprint(a)); err == nil {
			return s, true
		}
	}
	return "", false
}

// checkDiag places a problem the schema found about the field at subject
// (a #checks entry, see #Host): where the host itself wrote that field or
// the struct it is missing from, or else at the host's declaration, with the place a lower layer wrote
// it (or the struct around it) as a related position. The message's first
// line is the summary; the rest, how to fix it, is the detail. Schema
// positions are left out: the schema only carries the message.
func checkDiag(h *Host, subject, msg string) diag.Diagnostic {
	var path []string
	for _, sel := range cue.ParsePath(subject).Selectors() {
		path = append(path, sel.Unquoted())
	}
	full := append([]string{string(HostsPath), h.Name}, path...)
	summary, detail, _ := strings.Cut(msg, "\n")
	d := diag.Diagnostic{
		Severity: diag.Error,
		Range:    h.Decl,
		Path:     full,
		Summary:  FormatPath(full) + ": " + summary,
		Detail:   detail,
	}
	node, depth := h.Tree.Nearest(path)
	o := node.Leaf()
	if o == nil {
		o = node.Decl()
	}
	if o == nil || depth == 0 || !o.Range.Start.IsValid() {
		return d
	}
	if o.Source.Layer == merge.Host && depth >= len(path)-1 {
		// The host wrote the field, or the struct it is missing from.
		d.Range = o.Range
	} else if o.Source.Layer != merge.Host {
		d.Related = append(d.Related, diag.Related{Range: o.Range,
			Message: fmt.Sprintf("%s is set by %s", FormatPath(path[:depth]), o.Source)})
	}
	return d
}

// namedEntries finds, below n, the user's entries whose names are the
// string values among args (the two sides of a conflict in a structure
// the schema computes from the user's entries), in args order.
func namedEntries(n *merge.Node, args []any) []diag.Related {
	var out []diag.Related
	for _, a := range args {
		name, err := strconv.Unquote(fmt.Sprint(a))
		if err != nil {
			continue
		}
		if e := findEntry(n, name, 4); e != nil {
			r := diag.Range{}
			if o := e.Decl(); o != nil {
				r = o.Range
			} else if o := e.Leaf(); o != nil {
				r = o.Range
			}
			if r.Start.IsValid() {
				out = append(out, diag.Related{Range: r, Message: fmt.Sprintf("%q is defined here", name)})
			}
		}
	}
	if len(out) < 2 {
		return nil // not a collision of two named entries
	}
	return out
}

// findEntry looks breadth-first, at most depth levels below n, for a
// field called name.
func findEntry(n *merge.Node, name string, depth int) *merge.Node {
	level := []*merge.Node{n}
	for ; depth > 0 && len(level) > 0; depth-- {
		var next []*merge.Node
		for _, x := range level {
			if x.IsLeaf() {
				continue
			}
			if c := x.Field(name); c != nil {
				return c
			}
			for _, f := range x.Fields() {
				next = append(next, x.Field(f))
			}
		}
		level = next
	}
	return nil
}

// label says whether a position is in the schema or in the user's files.
func label(file string) string {
	if strings.Contains(filepath.ToSlash(file), "/cue.mod/pkg/"+SchemaImportPath+"/") {
		return "schema"
	}
	return "set here"
}

// FormatPath joins the labels of a data path with dots, quoting a label
// that is not a plain name (letters, digits, _, $ and inner -), so the
// result reads back with the same labels.
func FormatPath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		if plainLabel(s) {
			b.WriteString(s)
		} else {
			b.WriteString(strconv.Quote(s))
		}
	}
	return b.String()
}

func plainLabel(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == '$' || r == '#' && i == 0:
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case (r >= '0' && r <= '9' || r == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validate checks v against its own constraints (the partial schemas the
// user's files embed), without requiring concreteness.
func validate(v cue.Value) diag.List {
	if err := v.Validate(); err != nil {
		return cueDiags(err, &v)
	}
	if err := v.Err(); err != nil {
		return cueDiags(err, &v)
	}
	return nil
}

func importsSchema(inst *build.Instance) bool {
	for _, p := range inst.ImportPaths {
		if p == SchemaImportPath {
			return true
		}
	}
	return false
}

// hasCUEFiles reports whether dir holds a .cue file.
func hasCUEFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cue") {
			return true
		}
	}
	return false
}

// noPackages rewords CUE's error for package patterns that match nothing
// ("cue: "./..." matched no packages"), saying where the fleet's module is.
func noPackages(err error, dir, root string) (diag.Diagnostic, bool) {
	msg := err.Error()
	i := strings.Index(msg, "matched no packages")
	if i < 0 {
		return diag.Diagnostic{}, false
	}
	pattern := strings.TrimSpace(strings.TrimPrefix(msg[:i], "cue:"))
	where := "the module's root"
	if rel, err := filepath.Rel(dir, root); err == nil {
		where = filepath.ToSlash(rel)
	}
	return diag.Diagnostic{
		Severity: diag.Error,
		Range:    diag.Range{File: dir},
		Summary:  fmt.Sprintf("no CUE package matches %s here", pattern),
		Detail:   fmt.Sprintf("the fleet's module is at %s: run fleetgen there, or here without package arguments", where),
	}, true
}

func findModRoot(dir string) (string, bool) {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "cue.mod", "module.cue")); err == nil && !fi.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// SchemaDir returns where the vendored schema lives in the module at root.
func SchemaDir(root string) string {
	return filepath.Join(root, "cue.mod", "pkg", filepath.FromSlash(SchemaImportPath))
}

// schemaOverlay returns the overlay that puts the embedded schema at the
// vendored location, and a warning when the files on disk there differ.
// Stray .cue files on disk in that directory are overlaid with an empty
// file of the package, so they cannot change the schema fleetgen uses.
func schemaOverlay(root string, schema fs.FS) (map[string]load.Source, diag.List, error) {
	ov := map[string]load.Source{}
	dir := SchemaDir(root)
	embedded := map[string][]byte{}
	ents, err := fs.ReadDir(schema, ".")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		b, err := fs.ReadFile(schema, e.Name())
		if err != nil {
			return nil, nil, err
		}
		embedded[e.Name()] = b
		ov[filepath.Join(dir, e.Name())] = load.FromBytes(b)
	}
	registerSchemaDocs(dir, embedded)
	differs, present := compareVendored(dir, embedded)
	var warn diag.List
	for _, name := range differs.stray {
		ov[filepath.Join(dir, name)] = load.FromString("package schema\n")
	}
	if present && differs.any() {
		warn.Add(diag.Diagnostic{
			Severity: diag.Warning,
			Range:    diag.Range{File: dir},
			Summary:  fmt.Sprintf("the vendored schema differs from the one fleetgen embeds (%s): editors and cue vet see the vendored copy, fleetgen uses its own; run \"fleetgen schema sync\"", differs),
		})
	}
	return ov, warn, nil
}

// A schemaDiff says how a vendored schema directory differs.
type schemaDiff struct {
	changed, missing, stray []string
}

func (d schemaDiff) any() bool { return len(d.changed)+len(d.missing)+len(d.stray) > 0 }

func (d schemaDiff) String() string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			parts = append(parts, what+" "+strings.Join(names, ", "))
		}
	}
	add("changed:", d.changed)
	add("missing:", d.missing)
	add("extra:", d.stray)
	return strings.Join(parts, "; ")
}

// compareVendored compares the directory dir with the embedded files. It
// reports whether dir exists at all.
func compareVendored(dir string, embedded map[string][]byte) (schemaDiff, bool) {
	var d schemaDiff
	ents, err := os.ReadDir(dir)
	if err != nil {
		return d, false
	}
	onDisk := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		onDisk[e.Name()] = true
		want, ok := embedded[e.Name()]
		if !ok {
			d.stray = append(d.stray, e.Name())
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			d.changed = append(d.changed, e.Name())
		}
	}
	for name := range embedded {
		if !onDisk[name] {
			d.missing = append(d.missing, name)
		}
	}
	sort.Strings(d.changed)
	sort.Strings(d.missing)
	sort.Strings(d.stray)
	return d, true
}

// labels returns the labels of a CUE error path as plain strings: CUE
// writes a label that is not an identifier quoted ("\"SUPER + l\"").
func labels(p []string) []string {
	out := make([]string, len(p))
	for i, s := range p {
		if u, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
			s = u
		}
		out[i] = s
	}
	return out
}
