package fleet

import (
	"slices"
	"strings"
	"sync/atomic"

	"fleetnix.dev/fleet/internal/emit"
	"fleetnix.dev/fleet/internal/wire"
)

// The flake (flake.nix and its part of the source map) is kept in the
// cache too: for 1000 hosts, printing it and parsing it back is a tenth
// of a run that changed nothing. Its text is made from what the entry's
// key hashes: the fleet's description and inputs, and each host's name,
// modules and whether it has a disk layout (flakeExpr reads nothing
// else). Its source map is made from that text and from where the
// locator places each of its values. The entry keeps those places by
// class of value (flakeClass: an input, a host's configuration, the
// rest), each class's place found by asking the locator about the class
// itself, and is used only while the locator places every class where it
// did: an edit that moves an input's or a host's declaration, or a
// host's disks, makes the flake again. When the flake was made, every
// value was checked to be placed where its class is; a flake with a value
// placed otherwise is not kept.

// flakeEntryVersion names the layout of the flake's entry (and the
// rules').
const flakeEntryVersion = "flake-1"

// flakeRenders counts the flakes and rules made rather than read from
// the cache (tests).
var flakeRenders atomic.Int64

// flake returns the flake's files (emit.Flake of hosts) and their part of
// the source map, encoded (emit.MapPart.MarshalBinary), placing its
// values with the locator l: from the cache when its entry holds, else
// made and kept.
func (g *genCache) flake(hosts []emit.Host, l *locator) (*emit.Files, []byte, error) {
	return g.fleetFile(g.flakeKey(hosts), l, func(locate func(*emit.Value) emit.Origin) (*emit.Files, error) {
		return emit.Flake(g.ef, hosts, locate)
	})
}

// rules returns the agenix rules (emit.Secrets) as flake returns the
// flake.
func (g *genCache) rules(l *locator) (*emit.Files, []byte, error) {
	return g.fleetFile(g.rulesKey(), l, func(locate func(*emit.Value) emit.Origin) (*emit.Files, error) {
		return emit.Secrets(g.ef, locate)
	})
}

// fleetFile returns the files make makes and their part of the source
// map, from the cache entry key when it holds, else made and kept there.
func (g *genCache) fleetFile(key string, l *locator, make func(func(*emit.Value) emit.Origin) (*emit.Files, error)) (*emit.Files, []byte, error) {
	if parts, ok := g.c.Get(key); ok {
		if files, m, ok := decodeFlake(parts, l); ok {
			return files, m, nil
		}
	}
	flakeRenders.Add(1)
	rec := &flakeRecorder{l: l, at: map[string]int{}}
	files, err := make(rec.locate)
	if err != nil {
		return nil, nil, err
	}
	var m []byte
	if files.Map != nil {
		if m, err = files.Map.MarshalBinary(); err != nil {
			return nil, nil, err
		}
	}
	if key != "" && !rec.bad {
		g.c.Put(key, encodeFlake(files, m, rec.classes))
	}
	return files, m, nil
}

// rulesKey returns the key of the rules' entry: everything emit.Secrets
// reads but the places; "" without a cache.
func (g *genCache) rulesKey() string {
	if g.c == nil {
		return ""
	}
	hs, h := newHash()
	hashStrings(h, flakeEntryVersion, g.ef.OutDir, g.ef.SecretsDir)
	hashUint(h, uint64(len(g.ef.Secrets)))
	for _, sv := range g.ef.Secrets {
		hashStrings(h, sv.Name, sv.File)
		hashUint(h, uint64(len(sv.Recipients)))
		for _, r := range sv.Recipients {
			hashStrings(h, r.Name, r.Key)
		}
	}
	return g.c.Key("rules", sum(hs, h))
}

// flakeKey returns the key of the flake's entry for hosts: everything
// emit.Flake reads but the places; "" without a cache.
func (g *genCache) flakeKey(hosts []emit.Host) string {
	if g.c == nil {
		return ""
	}
	hs, h := newHash()
	hashStrings(h, flakeEntryVersion, g.ef.Description)
	hashUint(h, uint64(len(g.ef.Inputs)))
	for _, in := range g.ef.Inputs {
		hashStrings(h, in.Name, in.URL)
		names := sortedNames(in.Follows)
		hashUint(h, uint64(len(names)))
		for _, k := range names {
			hashStrings(h, k, in.Follows[k])
		}
	}
	// emit.Flake checks the names of the fleet's hosts and users.
	hashUint(h, uint64(len(g.ef.Hosts)))
	for _, eh := range g.ef.Hosts {
		hashStrings(h, eh.Name)
		hashUint(h, uint64(len(eh.Users)))
		for _, u := range eh.Users {
			hashStrings(h, u.Name)
		}
	}
	hashUint(h, uint64(len(hosts)))
	for _, eh := range hosts {
		hashStrings(h, eh.Name)
		hashUint(h, uint64(len(eh.Modules)))
		hashStrings(h, eh.Modules...)
		if eh.Disks != nil {
			h.WriteByte(1)
		} else {
			h.WriteByte(0)
		}
	}
	return g.c.Key("flake", sum(hs, h))
}

// A flakeClass is a class of the flake's (or the rules') values the
// locator places alike: the file, and the path of an input
// (inputs.<name>), of a host's configuration
// (outputs.nixosConfigurations.<host>), of an .age file (the rules), or
// nothing (the rest).
type flakeClass struct {
	file string
	path []string
}

// classOf returns the class of the flake's value v, false for a value
// that is not one of the flake's own.
func classOf(v *emit.Value) (flakeClass, bool) {
	if v.Host != "" || v.User != "" || v.Part != emit.PartFile || v.Data != nil {
		return flakeClass{}, false
	}
	p := v.Path
	switch {
	case v.File == "flake.nix" && len(p) >= 2 && p[0] == "inputs":
		p = p[:2]
	case v.File == "flake.nix" && len(p) >= 3 && p[0] == "outputs" && p[1] == "nixosConfigurations":
		p = p[:3]
	case v.File != "flake.nix" && len(p) >= 1:
		p = p[:1]
	default:
		p = nil
	}
	return flakeClass{v.File, p}, true
}

func (c flakeClass) key() string { return c.file + "\x00" + strings.Join(c.path, "\x00") }

func (c flakeClass) value() *emit.Value {
	return &emit.Value{File: c.file, Part: emit.PartFile, Path: slices.Clone(c.path)}
}

// A placedClass is a class and where the locator placed it.
type placedClass struct {
	class  flakeClass
	origin emit.Origin
}

// A flakeRecorder places the flake's values with its locator and
// records each value's class with its place; bad when a value is not
// placed where its class is (or is not the flake's).
type flakeRecorder struct {
	l       *locator
	at      map[string]int
	classes []placedClass
	bad     bool
}

func (r *flakeRecorder) locate(v *emit.Value) emit.Origin {
	o := r.l.locate(v)
	c, ok := classOf(v)
	if !ok {
		r.bad = true
		return o
	}
	k := c.key()
	i, ok := r.at[k]
	if !ok {
		co := o
		if len(c.path) != len(v.Path) {
			co = r.l.locate(c.value())
		}
		i = len(r.classes)
		r.at[k] = i
		r.classes = append(r.classes, placedClass{c, co})
	}
	if r.classes[i].origin != o {
		r.bad = true
	}
	return o
}

// encodeFlake lays out the flake's entry: its version, its map part, its
// classes with their places, then each file's path and data.
func encodeFlake(files *emit.Files, m []byte, classes []placedClass) [][]byte {
	var cb []byte
	for _, pc := range classes {
		cb = wire.AppendString(cb, pc.class.file)
		cb = wire.AppendUint(cb, uint64(len(pc.class.path)))
		for _, s := range pc.class.path {
			cb = wire.AppendString(cb, s)
		}
		o := pc.origin
		cb = wire.AppendString(cb, o.File)
		cb = wire.AppendInt(cb, int64(o.Line))
		cb = wire.AppendInt(cb, int64(o.Col))
		cb = wire.AppendString(cb, o.Path)
		cb = wire.AppendString(cb, o.Source)
	}
	parts := [][]byte{[]byte(flakeEntryVersion), m, cb}
	for _, f := range files.Files {
		parts = append(parts, []byte(f.Path), f.Data)
	}
	return parts
}

// decodeFlake reads the flake's entry, and reports false when it is not
// one or the locator l places one of its classes elsewhere now.
func decodeFlake(parts [][]byte, l *locator) (*emit.Files, []byte, bool) {
	if len(parts) < 3 || len(parts)%2 != 1 || string(parts[0]) != flakeEntryVersion {
		return nil, nil, false
	}
	r := wire.NewReader(parts[2])
	for r.Len() > 0 {
		c := flakeClass{file: r.String()}
		n := r.Count()
		for range n {
			c.path = append(c.path, r.String())
		}
		var o emit.Origin
		o.File = r.String()
		o.Line, o.Col = int(r.Int()), int(r.Int())
		o.Path, o.Source = r.String(), r.String()
		if r.Bad() || l.locate(c.value()) != o {
			return nil, nil, false
		}
	}
	files := &emit.Files{}
	for i := 3; i < len(parts); i += 2 {
		files.Files = append(files.Files, emit.File{Path: string(parts[i]), Data: parts[i+1]})
	}
	return files, parts[1], true
}
