package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/emit"
)

// Hosts that differ only by name are made once.
//
// A fleet's hosts are mostly instances of a few templates: their
// generated files differ only where the host's name is (the file names,
// the comments, an import of a user's home module, networking.hostName,
// a monitoring label). Hosts whose inputs to the emitter (the emitter
// reads: the final value, the NixOS, fleet-pass and home
// configurations, template, hardware profile, doc comment, users and
// their profiles, disk layout, installer keys and boot loader) are the
// same with the name replaced form a group (cloneKey). The group's files
// are made once, for a placeholder name of the same length and
// characters of the same kinds (the printer lays out by width), checked
// against a second placeholder, and each member's files are those with
// the placeholder replaced by its name. Only the source map's origins
// are each member's own: its entries ask the member's own tree where
// its values come from, as its files would have.
//
// A host is made alone whenever the sharing could be wrong: its name
// occurs in those inputs other than as a whole JSON string value (an
// object's key, part of a longer string, a marker's value such as a
// package or secret name), the placeholders occur in them, the emitter
// fails for the group (each member then fails or not on its own), or
// the two placeholders do not give the same files.

// shareClones turns the sharing off (tests compare both); cloned counts
// the hosts whose files were made from their group's.
var (
	shareClones = true
	cloned      atomic.Int64
)

// cloneNameRx matches the names sharing is tried for: a #HostName that
// starts with a letter, whose characters the placeholders can copy by
// kind.
var cloneNameRx = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// A cloneGroup is hosts whose files are made once.
type cloneGroup struct {
	// name and alt are the placeholders: the group's files are made for
	// a host named name, and checked against those for alt.
	name, alt string
	mu        sync.Mutex
	// res is the group's files, nil until made and when dropped (see
	// clones); failed says they cannot be shared.
	res    *cloneFiles
	failed bool
}

// cloneFiles are a group's files, made for the placeholder name.
type cloneFiles struct {
	files *emit.Files
	hf    hostFiles
}

// clones are the groups of one generation's hosts, found as their files
// are made: a host is made alone when no host before it had the same
// key (so that a fleet without hosts alike makes no file twice), and
// from its group's files otherwise. The files of the groups used last
// are kept, at most maxCloneFiles groups', and made again when needed
// after.
type clones struct {
	mu     sync.Mutex
	groups map[string]*cloneGroup
	live   []*cloneGroup
}

// maxCloneFiles is how many groups' files clones keeps.
const maxCloneFiles = 16

// group returns the group of host h, nil when h is made alone.
func (c *clones) group(h *Host) *cloneGroup {
	if c == nil || !shareClones {
		return nil
	}
	key := cloneKey(h)
	if key == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[key]
	if !ok {
		if c.groups == nil {
			c.groups = map[string]*cloneGroup{}
		}
		c.groups[key] = &cloneGroup{name: placeholder(h.Name, false), alt: placeholder(h.Name, true)}
		return nil
	}
	return g
}

// used notes that g's files are in use, and drops the files of the group
// used longest ago when too many are kept.
func (c *clones) used(g *cloneGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, l := range c.live {
		if l == g {
			c.live = append(c.live[:i], c.live[i+1:]...)
			break
		}
	}
	c.live = append(c.live, g)
	if len(c.live) > maxCloneFiles {
		old := c.live[0]
		c.live = c.live[1:]
		old.mu.Lock()
		old.res = nil
		old.mu.Unlock()
	}
}

// placeholder returns the placeholder of a name: the same length, a
// letter for a letter, a digit for a digit, a hyphen for a hyphen, and
// with alt another letter or digit at every position.
func placeholder(name string, alt bool) string {
	letters, digits := "qzxj", "9753"
	if alt {
		letters, digits = "zjqx", "8642"
	}
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = letters[i%4]
		case c >= '0' && c <= '9':
			b[i] = digits[i%4]
		}
	}
	return string(b)
}

// cloneKey returns the key of what the emitter and vet read of host h,
// with its name replaced, or "" when h is made alone (see cloneGroup).
func cloneKey(h *Host) string {
	name := h.Name
	if !cloneNameRx.MatchString(name) {
		return ""
	}
	nixos := h.h.NixOS()
	if nixos == nil {
		return ""
	}
	forbidden := []string{name, placeholder(name, false), placeholder(name, true)}
	ins := [][]byte{h.h.JSON(), nixos, h.h.Derived}
	for _, u := range h.Users {
		ins = append(ins, h.h.Home[u.Name])
	}
	// Checked before anything is hashed: most hosts of a fleet without
	// hosts alike fail here.
	for _, in := range ins {
		if !hashRenamed(nil, in, name, forbidden[1:]) {
			return ""
		}
	}
	s, w := newHash()
	hashStrings(w, "clone-1", placeholder(name, false))
	for _, in := range ins {
		hashRenamed(w, in, name, nil)
	}
	layout, err := json.Marshal(h.layout)
	if err != nil {
		return ""
	}
	strs := []string{h.Template, h.HardwareProfile, string(layout), h.loader}
	strs = append(strs, h.h.Doc...)
	strs = append(strs, h.adminKeys...)
	for _, u := range h.Users {
		strs = append(strs, u.Name)
		strs = append(strs, u.Profiles...)
	}
	for _, x := range strs {
		for _, n := range forbidden {
			if strings.Contains(x, n) {
				return ""
			}
		}
	}
	hashUint(w, uint64(len(h.Users)))
	for _, u := range h.Users {
		hashStrings(w, u.Name)
		hashUint(w, uint64(len(u.Profiles)))
		hashStrings(w, u.Profiles...)
	}
	hashUint(w, uint64(len(h.h.Doc)))
	hashStrings(w, h.h.Doc...)
	hashUint(w, uint64(len(h.adminKeys)))
	hashStrings(w, h.adminKeys...)
	hashStrings(w, h.Template, h.HardwareProfile, string(layout), h.loader)
	if h.efiVariables {
		hashUint(w, 1)
	} else {
		hashUint(w, 0)
	}
	return string(sum(s, w))
}

// hashRenamed writes the JSON b to w with every occurrence of name, the
// host's, left out, and reports whether each is a whole string value
// that is neither an object's key nor a marker's value ({"$pkg":
// name}), and none of others occurs in b. JSON holds no raw NUL or SOH
// byte: they mark the name and the end. With w nil it only checks.
func hashRenamed(w *bufio.Writer, b []byte, name string, others []string) bool {
	if w == nil {
		w = bufio.NewWriterSize(io.Discard, 16)
	}
	if b == nil {
		w.WriteByte(2)
		return true
	}
	for _, o := range others {
		if bytes.Contains(b, []byte(o)) {
			return false
		}
	}
	rest := b
	for {
		i := bytes.Index(rest, []byte(name))
		if i < 0 {
			break
		}
		start := len(b) - len(rest) + i
		end := start + len(name)
		if start == 0 || b[start-1] != '"' || end >= len(b) || b[end] != '"' || isJSONKey(b[end+1:]) || isMarkerValue(b[:start-1]) {
			return false
		}
		w.Write(b[len(b)-len(rest) : start])
		w.WriteByte(0)
		rest = b[end:]
	}
	w.Write(rest)
	w.WriteByte(1)
	return true
}

// isJSONKey reports whether a JSON string ending just before b is an
// object's key: a colon follows it.
func isJSONKey(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == ':'
}

// isMarkerValue reports whether a JSON string starting just after b is
// the value of a key that starts with $, or might be.
func isMarkerValue(b []byte) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) == 0 || b[len(b)-1] != ':' {
		return false
	}
	b = bytes.TrimRight(b[:len(b)-1], " \t\r\n")
	if len(b) == 0 || b[len(b)-1] != '"' {
		return true
	}
	q := bytes.LastIndexByte(b[:len(b)-1], '"')
	return q < 0 || q+1 >= len(b) || b[q+1] == '$' || bytes.IndexByte(b[q:], '\\') >= 0
}

// renamed returns h's JSON b with the whole string values name replaced
// by to (see hashRenamed: they are the only occurrences).
func renamed(b []byte, name, to string) []byte {
	if b == nil {
		return nil
	}
	return bytes.ReplaceAll(b, []byte(`"`+name+`"`), []byte(`"`+to+`"`))
}

// renamedHome is renamed for each of h's users' home configurations.
func renamedHome(h *Host, to string) map[string][]byte {
	out := make(map[string][]byte, len(h.Users))
	for _, u := range h.Users {
		if b, ok := h.h.Home[u.Name]; ok {
			out[u.Name] = renamed(b, h.Name, to)
		}
	}
	return out
}

// emitAs returns what the emitter needs of host h with its name
// replaced by to.
func (f *Fleet) emitAs(h *Host, to string, modules []string, out *hostFiles) (*emit.Host, error) {
	return f.emitHostAs(h, to, renamed(h.h.JSON(), h.Name, to), renamed(h.h.NixOS(), h.Name, to),
		renamed(h.h.Derived, h.Name, to), renamedHome(h, to), modules, out)
}

// files returns the group's files, made from its member h when they are
// not kept; nil when they cannot be shared.
func (g *cloneGroup) files(f *Fleet, ef *emit.Fleet, h *Host, modules []string) *cloneFiles {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.res != nil || g.failed {
		return g.res
	}
	g.failed = true
	var r cloneFiles
	eh, err := f.emitAs(h, g.name, modules, &r.hf)
	if err != nil {
		return nil
	}
	if r.files, err = ef.HostShared(eh); err != nil {
		return nil
	}
	var alt hostFiles
	eh, err = f.emitAs(h, g.alt, modules, &alt)
	if err != nil {
		return nil
	}
	check, err := ef.HostShared(eh)
	if err != nil || !emit.SameShared(r.files, check, g.name, g.alt) {
		return nil
	}
	g.res, g.failed = &r, false
	return g.res
}

// generateClone generates the files of host h, a member of group g of
// cs, into out from the group's files; false when they cannot be shared.
func (f *Fleet) generateClone(cs *clones, g *cloneGroup, ef *emit.Fleet, h *Host, modules []string, l *locator, out *hostFiles) bool {
	r := g.files(f, ef, h, modules)
	if r == nil {
		return false
	}
	cs.used(g)
	cloned.Add(1)
	from, to := g.name, h.Name
	out.files, out.mapped = make([]emit.File, 0, len(r.files.Files)+1), nil
	for _, file := range r.files.Files {
		out.files = append(out.files, emit.File{Path: strings.ReplaceAll(file.Path, from, to),
			Data: bytes.ReplaceAll(file.Data, []byte(from), []byte(to))})
	}
	if r.files.Map != nil {
		// h is located in the tree of its class's lead when it has one
		// (see classSources).
		l.member = h.Name
		part := r.files.Map
		rel := relocation{}
		m := part.Relocate(from, to, func(out *emit.MapPart, file, entry int, v *emit.Value) int {
			return l.relocated(h, part, out, rel, file, entry, v, from)
		})
		l.member = ""
		out.files = append(out.files, emit.HostSourceMap(to, m))
		for _, mf := range m.Files {
			out.mapped = append(out.mapped, mf.Path)
		}
	}
	out.users = nil
	if r.hf.users != nil {
		out.users = make(map[string]map[string]any, len(r.hf.users))
		for n, u := range r.hf.users {
			out.users[n] = emit.Rename(u, from, to).(map[string]any)
		}
	}
	out.secrets = r.hf.secrets
	out.hostKey = strings.ReplaceAll(r.hf.hostKey, from, to)
	return true
}
