package fleet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"fleetnix.dev/fleet/internal/diag"
)

// A HardwareMerge is the result of HardwareImport.MergeInto.
type HardwareMerge struct {
	// CUE is the file with the host's imported facts, formatted.
	CUE []byte
	// Notes say, at the place in the file they concern, what the merge
	// added and what it replaced. Their Severity is Info.
	Notes []Diagnostic
}

// The fields of a host an import writes, and how a merge treats each: the
// import's hardware is the machine's, as nixos-generate-config rewrites
// hardware-configuration.nix whole, so it replaces the host's; system is
// one value; network and nixos also hold what the user wrote, so only the
// imported values replace theirs.
var importOwns = map[string]bool{"hardware": true, "system": true}

// MergeInto merges the imported host into target, an existing CUE file of
// the fleet: a host the file does not declare is added at its end; into a
// host it declares once, as a struct written out, the import's system and
// hardware replace the host's, and its network and nixos values replace
// those at the same paths, the rest of the host left as it was. A host the
// file declares twice, or as anything but a struct ({…}), is an error, as
// is a file CUE cannot parse: a merge never guesses, so it never drops or
// duplicates a host. A file without a package clause gets the import's
// (CUE leaves such a file out of the fleet). The import must have been
// made for a host (HardwareInput.Host).
func (r *HardwareImport) MergeInto(target HardwareSource) (*HardwareMerge, error) {
	if r.host == "" {
		return nil, errors.New("fleet: MergeInto needs an import made for a host (HardwareInput.Host)")
	}
	file, err := parser.ParseFile(target.File, target.Src, parser.ParseComments)
	if err != nil {
		return nil, fromDiag(cueDiagsOf(err))
	}
	// What the merge did, each said at the place in the merged file it
	// concerns (path), found once the file is formatted.
	type change struct {
		path    []string
		summary string
	}
	var changes []change
	note := func(path []string, format string, args ...any) {
		changes = append(changes, change{path, fmt.Sprintf(format, args...)})
	}
	if file.PackageName() == "" {
		file.Decls = append([]ast.Decl{&ast.Package{Name: ast.NewIdent(r.pkg)}}, file.Decls...)
		note(nil, "added the package clause package %s: CUE leaves a file without one out of the fleet", r.pkg)
	}
	hosts := hostsOf(file, r.host)
	switch {
	case len(hosts) > 1:
		d := diag.Diagnostic{Severity: diag.Error, Range: tokenRange(target.File, hosts[0].Pos()), Path: []string{"hosts", r.host},
			Summary: fmt.Sprintf("%s declares hosts.%s %d times: fleetgen cannot tell which to merge the import into", target.File, r.host, len(hosts)),
			Detail:  "join them into one, or import into a file of its own; the file is left as it was"}
		for _, h := range hosts[1:] {
			d.Related = append(d.Related, diag.Related{Range: tokenRange(target.File, h.Pos()), Message: "declared again here"})
		}
		return nil, fromDiag(diag.List{d})
	case len(hosts) == 0:
		d := hostDecl(r.host, r.fields())
		ast.AddComment(d, importedComment())
		file.Decls = append(file.Decls, d)
		note([]string{r.host}, "added hosts.%s with its hardware facts", r.host)
	default:
		st, ok := hosts[0].Value.(*ast.StructLit)
		if !ok {
			return nil, fromDiag(diag.List{{Severity: diag.Error, Range: tokenRange(target.File, hosts[0].Value.Pos()), Path: []string{"hosts", r.host},
				Summary: fmt.Sprintf("hosts.%s is not written out as a struct ({…}) here, so fleetgen cannot merge the import into it", r.host),
				Detail:  "import into a file of its own; the file is left as it was"}})
		}
		if !st.Lbrace.IsValid() && len(st.Elts) > 0 {
			// hosts: web: x: 1 is a struct without braces: with more
			// than one field it needs them, and a line each.
			st.Lbrace, st.Rbrace = token.Blank.Pos(), token.Newline.Pos()
			ast.SetRelPos(st.Elts[0], token.Newline)
		}
		for _, f := range r.fields() {
			name, _, _ := ast.LabelName(f.Label)
			if name == "hardware" {
				ast.AddComment(f, importedComment())
			}
			mergeField([]*ast.StructLit{st}, f, []string{"hosts", r.host, name}, importOwns[name], func(old, new *ast.Field, path []string) {
				switch {
				case old == nil:
					note(path[1:], "added %s", FormatPath(path))
				case !sameValue(old, new):
					note(path[1:], "replaced %s (line %d before) with the imported value", FormatPath(path), old.Pos().Line())
				}
			})
		}
	}
	out, err := format.Node(file)
	if err != nil {
		return nil, err
	}
	merged, err := parser.ParseFile(target.File, out)
	if err != nil {
		return nil, fmt.Errorf("fleet: the merged %s does not parse: %v", target.File, err)
	}
	m := &HardwareMerge{CUE: out}
	if len(changes) == 0 {
		note([]string{r.host}, "hosts.%s has these facts already: nothing changed", r.host)
	}
	var notes diag.List
	for _, c := range changes {
		notes.Add(diag.Diagnostic{Severity: diag.Info, Range: tokenRange(target.File, fieldAt(merged, c.path)), Summary: c.summary})
	}
	notes.Sort()
	m.Notes = fromDiag(notes)
	return m, nil
}

// fieldAt returns where file declares hosts.<path[0]>.<path[1]>…, or the
// first such place it finds; NoPos for an empty path or none.
func fieldAt(file *ast.File, path []string) token.Pos {
	if len(path) == 0 {
		return token.NoPos
	}
	hosts := hostsOf(file, path[0])
	if len(hosts) == 0 {
		return token.NoPos
	}
	f := hosts[0]
	for _, l := range path[1:] {
		st, ok := f.Value.(*ast.StructLit)
		if !ok {
			return f.Pos()
		}
		var next *ast.Field
		for _, e := range st.Elts {
			if g, ok := e.(*ast.Field); ok && labelIs(g, l) {
				next = g
				break
			}
		}
		if next == nil {
			return f.Pos()
		}
		f = next
	}
	return f.Pos()
}

// mergeField puts f into the structs dsts, which together are the value
// at path's parent: a struct value of f merges field by field into the
// struct values that dsts hold for it, unless whole says f replaces them;
// any other value replaces them. replaced is told of each field removed,
// and with a nil old of each field added where there was none.
func mergeField(dsts []*ast.StructLit, f *ast.Field, path []string, whole bool, replaced func(old, new *ast.Field, path []string)) {
	name, _, _ := ast.LabelName(f.Label)
	var matches []*ast.Field
	for _, d := range dsts {
		for _, e := range d.Elts {
			if g, ok := e.(*ast.Field); ok && labelIs(g, name) {
				matches = append(matches, g)
			}
		}
	}
	src, isStruct := f.Value.(*ast.StructLit)
	var subs []*ast.StructLit
	for _, g := range matches {
		if s, ok := g.Value.(*ast.StructLit); ok {
			subs = append(subs, s)
		}
	}
	if !whole && isStruct && len(matches) > 0 && len(subs) == len(matches) {
		for _, e := range src.Elts {
			if sf, ok := e.(*ast.Field); ok {
				sn, _, _ := ast.LabelName(sf.Label)
				mergeField(subs, sf, append(path[:len(path):len(path)], sn), false, replaced)
			}
		}
		return
	}
	for _, g := range matches {
		replaced(g, f, path)
	}
	if len(matches) == 0 {
		dsts[0].Elts = append(dsts[0].Elts, f)
		replaced(nil, f, path)
		return
	}
	// f takes the place of the first field it replaces.
	for _, d := range dsts {
		d.Elts = replaceFields(d.Elts, matches, matches[0], f)
	}
}

// replaceFields drops the fields drop from elts, but for first, which f
// takes the place of.
func replaceFields(elts []ast.Decl, drop []*ast.Field, first, f *ast.Field) []ast.Decl {
	out := elts[:0]
	for _, e := range elts {
		switch g, ok := e.(*ast.Field); {
		case ok && g == first:
			out = append(out, f)
		case ok && containsField(drop, g):
		default:
			out = append(out, e)
		}
	}
	return out
}

// sameValue reports whether two fields hold the same value as written,
// layout and comments aside.
func sameValue(a, b *ast.Field) bool {
	x, err1 := format.Node(a.Value, format.Simplify())
	y, err2 := format.Node(b.Value, format.Simplify())
	return err1 == nil && err2 == nil && string(stripComments(x)) == string(stripComments(y))
}

// stripComments drops the comment lines and the white space of formatted
// CUE, so that two layouts of one value compare equal.
func stripComments(src []byte) []byte {
	var out []byte
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		out = append(out, strings.Join(strings.Fields(line), "")...)
	}
	return out
}

func containsField(fs []*ast.Field, f *ast.Field) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// labelIs reports whether f is a regular field labelled name.
func labelIs(f *ast.Field, name string) bool {
	n, _, err := ast.LabelName(f.Label)
	return err == nil && n == name && f.Constraint == token.ILLEGAL
}

// hostsOf returns the fields of file that declare hosts.<host> at its top
// level: in hosts: <host>: … and hosts: { <host>: … }.
func hostsOf(file *ast.File, host string) []*ast.Field {
	var out []*ast.Field
	for _, h := range hostDecls(file) {
		if labelIs(h, host) {
			out = append(out, h)
		}
	}
	return out
}

// hostDecls returns the regular fields below file's top-level hosts
// fields, in order: the hosts it declares.
func hostDecls(file *ast.File) []*ast.Field {
	var out []*ast.Field
	for _, d := range file.Decls {
		f, ok := d.(*ast.Field)
		if !ok || !labelIs(f, "hosts") {
			continue
		}
		st, ok := f.Value.(*ast.StructLit)
		if !ok {
			continue
		}
		for _, e := range st.Elts {
			if h, ok := e.(*ast.Field); ok && h.Constraint == token.ILLEGAL {
				out = append(out, h)
			}
		}
	}
	return out
}

// tokenRange returns the place of p in file.
func tokenRange(file string, p token.Pos) diag.Range {
	r := diag.Range{File: file}
	if p.IsValid() {
		r.Start = diag.Pos{Line: p.Line(), Col: p.Column(), Offset: p.Offset()}
		r.End = r.Start
	}
	return r
}

// A HostScan is what the CUE files of one directory say of the fleet's
// hosts, read without loading the fleet: their package and where each
// host, and each host's hardware, is written.
type HostScan struct {
	// Package is the CUE package of the files, "" when none has a
	// package clause.
	Package string
	// Hosts are, by host name, the places that declare the host at the
	// top level of a file (hosts: <name>: …), in file order.
	Hosts map[string][]HostPlace
}

// A HostPlace is a declaration of a host in a file.
type HostPlace struct {
	// Pos is where hosts.<name> is declared.
	Pos Position
	// Hardware, when set, is where that declaration sets the host's
	// hardware.
	Hardware *Position
}

// ScanHosts reads the CUE files of dir (not below it) and says which
// hosts they declare, and where. Files CUE cannot parse are skipped: the
// scan informs, and loading the fleet reports them.
func ScanHosts(dir string) (*HostScan, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	s := &HostScan{Hosts: map[string][]HostPlace{}}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			continue
		}
		if p := f.PackageName(); p != "" && s.Package == "" {
			s.Package = p
		}
		for _, h := range hostDecls(f) {
			host, _, err := ast.LabelName(h.Label)
			if err != nil {
				continue
			}
			p := HostPlace{Pos: cuePosition(name, h.Pos())}
			if hs, ok := h.Value.(*ast.StructLit); ok {
				for _, x := range hs.Elts {
					if hw, ok := x.(*ast.Field); ok && labelIs(hw, "hardware") {
						hp := cuePosition(name, hw.Pos())
						p.Hardware = &hp
						break
					}
				}
			}
			s.Hosts[host] = append(s.Hosts[host], p)
		}
	}
	return s, nil
}

func cuePosition(file string, p token.Pos) Position {
	return Position{File: file, Line: p.Line(), Column: p.Column(), Offset: p.Offset()}
}

// cueDiagsOf turns a CUE parse error into diagnostics at their places.
func cueDiagsOf(err error) diag.List {
	var out diag.List
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		d := diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf(format, args...)}
		if p := e.Position(); p.IsValid() {
			d.Range = diag.Range{File: p.Filename(), Start: diag.Pos{Line: p.Line(), Col: p.Column(), Offset: p.Offset()}}
			d.Range.End = d.Range.Start
		}
		out.Add(d)
	}
	return out
}

// WriteInto writes the imported host into the CUE file name: the file
// the import makes when there is none, else the file merged as MergeInto
// merges it. The file is written whole and then renamed over the old one,
// so a failed merge leaves it as it was.
func (r *HardwareImport) WriteInto(name string) (*HardwareMerge, error) {
	src, err := os.ReadFile(name)
	var m *HardwareMerge
	switch {
	case errors.Is(err, os.ErrNotExist):
		if r.host == "" {
			return nil, errors.New("fleet: WriteInto needs an import made for a host (HardwareInput.Host)")
		}
		m = &HardwareMerge{CUE: r.CUE}
		m.Notes = fromDiag(diag.List{{Severity: diag.Info, Range: diag.Range{File: name},
			Summary: fmt.Sprintf("wrote hosts.%s with its hardware facts to a new file", r.host)}})
	case err != nil:
		return nil, err
	default:
		if m, err = r.MergeInto(HardwareSource{File: name, Src: src}); err != nil {
			return nil, err
		}
	}
	if err := writeFileAtomic(name, m.CUE); err != nil {
		return nil, err
	}
	return m, nil
}

// Placement warns, for an import of host written into the file target of
// the scanned directory ("" for standard output), of what would surprise
// in the fleet that results: a host no other file declares (a misspelt
// name makes a new host, without stateVersion or a deploy target), and
// hardware the host also gets from other files, which CUE unifies with
// the import's.
func (s *HostScan) Placement(host, target string) []Diagnostic {
	var out diag.List
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	var others []HostPlace
	for _, p := range s.Hosts[host] {
		if target == "" || abs(p.Pos.File) != abs(target) {
			others = append(others, p)
		}
	}
	inTarget := len(others) < len(s.Hosts[host])
	if len(others) == 0 && !inTarget {
		var names []string
		for n := range s.Hosts {
			names = append(names, n)
		}
		sort.Strings(names)
		where := "the output"
		if target != "" {
			where = target
		}
		d := diag.Diagnostic{Severity: diag.Warning, Range: diag.Range{File: target},
			Summary: fmt.Sprintf("no other file of the fleet declares hosts.%s: %s makes it a new host", host, where),
			Detail:  "a new host needs stateVersion and deploy.targetHost as well"}
		if n := diag.Nearest(host, names); n != "" {
			d.Detail = fmt.Sprintf("did you mean --host %s? Otherwise %s", n, d.Detail)
		}
		out.Add(d)
	}
	for _, p := range others {
		if p.Hardware == nil {
			continue
		}
		h := p.Hardware
		r := diag.Range{File: h.File, Start: diag.Pos{Line: h.Line, Col: h.Column, Offset: h.Offset}}
		r.End = r.Start
		out.Add(diag.Diagnostic{Severity: diag.Warning, Range: r,
			Summary: fmt.Sprintf("hosts.%s sets hardware here too: CUE unifies it with the imported facts, and vet reports where they differ", host),
			Detail:  fmt.Sprintf("remove it, or import into this file instead: -o %s", filepath.Base(h.File))})
	}
	return fromDiag(out)
}
