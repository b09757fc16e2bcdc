package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/emit"
)

// GeneratedHeader is the first line of every file fleetgen writes. Only
// files starting with it are ever rewritten or removed.
const GeneratedHeader = emit.Header

// GenerateOptions control Generate.
type GenerateOptions struct {
	// OutDir overrides the fleet's settings.output. A relative path is
	// relative to the CUE module's root.
	OutDir string
	// Check reports what would change without writing anything.
	Check bool
}

// A GenerateResult says what Generate changed, or with Check would
// change. Paths are absolute.
type GenerateResult struct {
	// OutDir is the output directory.
	OutDir string
	// Written are files created or rewritten; Removed are generated files
	// that no longer belong to the fleet. Unchanged files are left alone.
	Written, Removed []string
}

// Stale reports whether the tree on disk differs from the fleet.
func (r *GenerateResult) Stale() bool { return len(r.Written)+len(r.Removed) > 0 }

// Generate writes the fleet's Nix tree: flake.nix, a module per host,
// a home-manager module per user and host, and the agenix rules; for each
// host with a disk layout (disks), its disko configuration
// (disks/<host>.nix) and live installer (installers/<host>.nix, the flake
// output "<host>-installer"), whose SSH logins are the keys of the host's
// users in the wheel group. It is
// all or nothing: files are generated in memory, then the new tree
// replaces the old one in a single rename, so an error or an interruption
// leaves the previous tree as it was. Files whose bytes do not change keep
// their inode and modification time; files without the generated header
// are never touched. The fleet must be loaded with Config.NixOS.
func (f *Fleet) Generate(opts GenerateOptions) (*GenerateResult, error) {
	res, _, err := f.generate(opts)
	return res, err
}

// generate is Generate, also returning the generated files.
func (f *Fleet) generate(opts GenerateOptions) (*GenerateResult, []emit.File, error) {
	files, outDir, err := f.files(opts.OutDir)
	if err != nil {
		return nil, nil, err
	}
	plan, err := planTree(outDir, files)
	if err != nil {
		return nil, nil, err
	}
	res := &GenerateResult{OutDir: outDir, Written: plan.written, Removed: plan.removed}
	if opts.Check || !res.Stale() {
		return res, files, nil
	}
	return res, files, plan.apply()
}

// settings is the part of the fleet's settings Generate reads.
type settings struct {
	Description string            `json:"description"`
	Output      string            `json:"output"`
	SecretsDir  string            `json:"secretsDir"`
	AdminKeys   map[string]string `json:"adminKeys"`
	Inputs      map[string]struct {
		URL          string            `json:"url"`
		Follows      map[string]string `json:"follows"`
		NixOSModules map[string]bool   `json:"nixosModules"`
	} `json:"inputs"`
}

type secretValue struct {
	Name       string `json:"name"`
	File       string `json:"file"`
	Owner      string `json:"owner"`
	Group      string `json:"group"`
	Mode       string `json:"mode"`
	Recipients struct {
		Users map[string]bool `json:"users"`
		Hosts map[string]bool `json:"hosts"`
	} `json:"recipients"`
}

// files returns the generated files and the absolute output directory.
func (f *Fleet) files(outOverride string) ([]emit.File, string, error) {
	var s settings
	if err := json.Unmarshal(f.l.Settings, &s); err != nil {
		return nil, "", fmt.Errorf("reading settings: %v", err)
	}
	out := s.Output
	if outOverride != "" {
		out = outOverride
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(f.l.ModRoot, out)
	}
	outRel, err := filepath.Rel(f.l.ModRoot, out)
	if err != nil || strings.HasPrefix(outRel, "..") {
		return nil, "", fmt.Errorf("output directory %s is outside the fleet's module %s", out, f.l.ModRoot)
	}
	ef := &emit.Fleet{
		Description: s.Description,
		OutDir:      filepath.ToSlash(outRel),
		SecretsDir:  filepath.ToSlash(s.SecretsDir),
	}
	for _, name := range sortedNames(s.Inputs) {
		in := s.Inputs[name]
		ef.Inputs = append(ef.Inputs, emit.Input{Name: name, URL: in.URL, Follows: in.Follows})
	}
	var modules []string
	for _, name := range sortedNames(s.Inputs) {
		for _, m := range sortedNames(s.Inputs[name].NixOSModules) {
			if s.Inputs[name].NixOSModules[m] {
				modules = append(modules, name+"."+m)
			}
		}
	}
	users := f.fleetUsers()
	for _, h := range f.hosts {
		if h.h.NixOS == nil {
			return nil, "", errors.New("the fleet was loaded without Config.NixOS; Generate needs the hosts' NixOS configurations")
		}
		nixos, err := decodeObject(h.h.NixOS)
		if err != nil {
			return nil, "", fmt.Errorf("host %s: %v", h.Name, err)
		}
		eh := emit.Host{Name: h.Name, NixOS: nixos, Modules: modules, Comment: hostComment(h), Disks: h.layout, AdminKeys: h.adminKeys,
			Loader: h.loader, EFIVariables: h.efiVariables}
		v, err := h.Value()
		if err != nil {
			return nil, "", err
		}
		if extra, ok := v["nixos"].(map[string]any); ok {
			eh.Extra = extra
		}
		if h.h.Derived != nil {
			if eh.Derived, err = decodeObject(h.h.Derived); err != nil {
				return nil, "", fmt.Errorf("host %s: %v", h.Name, err)
			}
		}
		for _, u := range h.Users {
			home, err := decodeObject(h.h.Home[u.Name])
			if err != nil {
				return nil, "", fmt.Errorf("host %s, user %s: %v", h.Name, u.Name, err)
			}
			c := fmt.Sprintf("Home of %s on %s.", u.Name, h.Name)
			switch len(u.Profiles) {
			case 0:
			case 1:
				c = fmt.Sprintf("Home of %s on %s: profile %s.", u.Name, h.Name, u.Profiles[0])
			default:
				c = fmt.Sprintf("Home of %s on %s: profiles %s.", u.Name, h.Name, strings.Join(u.Profiles, " + "))
			}
			eh.Users = append(eh.Users, emit.User{Name: u.Name, Home: home, Comment: []string{c}})
		}
		ef.Hosts = append(ef.Hosts, eh)
		if us, ok := v["users"].(map[string]any); ok {
			for n, u := range us {
				if m, ok := u.(map[string]any); ok {
					users[n] = m
				}
			}
		}
	}
	// Recipients: the users a secret declares, the hosts whose
	// configuration uses it (or that it names), the administrators.
	usedBy := secretsUsedBy(ef.Hosts)
	hostKeys, err := f.hostKeys()
	if err != nil {
		return nil, "", err
	}
	for _, name := range sortedNames(f.l.Secrets) {
		sv, err := f.secret(name)
		if err != nil {
			return nil, "", err
		}
		es := emit.Secret{Name: name, File: sv.File, Owner: sv.Owner, Group: sv.Group, Mode: sv.Mode,
			Recipients: recipientsOf(sv, users, usedBy[name], hostKeys, s.AdminKeys)}
		ef.Secrets = append(ef.Secrets, es)
	}
	ef.Locate = f.newLocator().locate
	files, err := emit.Generate(ef)
	if err != nil {
		return nil, "", f.emitError(err)
	}
	return files, out, nil
}

func hostComment(h *Host) []string {
	var parts []string
	if h.Template != "" {
		parts = append(parts, "template "+h.Template)
	}
	if h.HardwareProfile != "" {
		parts = append(parts, "hardware profile "+h.HardwareProfile)
	}
	c := "Host " + h.Name
	if len(parts) > 0 {
		c += ": " + strings.Join(parts, ", ")
	}
	lines := []string{c + "."}
	if len(h.h.Doc) > 0 {
		lines = append(append(lines, ""), h.h.Doc...)
	}
	return lines
}

func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// A treePlan is a new output tree staged next to the old one.
type treePlan struct {
	outDir           string
	files            map[string][]byte // slash path -> content
	keep             map[string]bool   // files of the old tree kept as they are
	written, removed []string
}

// planTree compares the generated files with the tree on disk.
func planTree(outDir string, files []emit.File) (*treePlan, error) {
	p := &treePlan{outDir: outDir, files: map[string][]byte{}, keep: map[string]bool{}}
	for _, f := range files {
		p.files[f.Path] = f.Data
	}
	err := filepath.WalkDir(outDir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == outDir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(outDir, path)
		rel = filepath.ToSlash(rel)
		if want, ok := p.files[rel]; ok {
			old, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Equal(old, want) {
				p.keep[rel] = true
			}
			return nil
		}
		gen, err := isGenerated(path)
		if err != nil {
			return err
		}
		if gen {
			p.removed = append(p.removed, path)
		} else {
			p.keep[rel] = true // the user's own file
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !p.keep[f.Path] {
			p.written = append(p.written, filepath.Join(outDir, filepath.FromSlash(f.Path)))
		}
	}
	sort.Strings(p.written)
	sort.Strings(p.removed)
	return p, nil
}

func isGenerated(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return emit.IsGenerated(strings.TrimRight(line, "\r\n")), nil
}

// apply builds the new tree in a directory beside the old one, linking
// kept files (so they keep inode and mtime) and writing changed ones,
// then puts it in place with one rename (an atomic exchange where the
// system has one) and removes the old tree.
func (p *treePlan) apply() (err error) {
	parent := filepath.Dir(p.outDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(p.outDir)+".new*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for rel := range p.keep {
		dst := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Link(filepath.Join(p.outDir, filepath.FromSlash(rel)), dst); err != nil {
			return err
		}
	}
	for rel, data := range p.files {
		if p.keep[rel] {
			continue
		}
		dst := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(p.outDir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, p.outDir)
	}
	if err := exchange(tmp, p.outDir); err != nil {
		return err
	}
	// tmp now holds the old tree.
	return os.RemoveAll(tmp)
}

// emitError places an error of the emitter at the user's CUE line where
// it can: a free-form NixOS value that conflicts with a computed one is
// reported where the host (or its template) wrote it.
func (f *Fleet) emitError(err error) error {
	var oe *emit.OverlayError
	var ee *emit.Error
	if !errors.As(err, &ee) || !errors.As(err, &oe) {
		return err
	}
	name := strings.TrimSuffix(strings.TrimPrefix(ee.File, "hosts/"), ".nix")
	h := f.byName[name]
	if h == nil {
		return err
	}
	path := append([]string{"nixos"}, oe.Path...)
	n, _ := h.h.Tree.Nearest(path)
	r := h.h.Decl
	if o := n.Leaf(); o != nil {
		r = o.Range
	} else if o := n.Decl(); o != nil {
		r = o.Range
	}
	return fromDiag(diag.List{{
		Severity: diag.Error,
		Range:    r,
		Path:     append([]string{"hosts", name}, path...),
		Summary:  "hosts." + name + "." + oe.Error(),
	}})
}
