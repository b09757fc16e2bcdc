package load

import (
	"encoding/json"
	"slices"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/merge"
)

// An entry is kept in the cache as its version, what JSON holds of it
// (record), its tree and its data, each encoded by package merge.

// entryVersion names the layout of a kept entry.
const entryVersion = "entry-2"

// An entryRecord is an entry's fields as JSON keeps them, with where its
// declarations were when it was kept (so that positions can follow them
// when lines above move).
type entryRecord struct {
	Decl   diag.Range
	Doc    []string              `json:",omitempty"`
	Fixed  []FixedPath           `json:",omitempty"`
	Refs   *refsRecord           `json:",omitempty"`
	Inputs map[string]diag.Range `json:",omitempty"`
	Tree   bool                  `json:",omitempty"`
	Data   bool                  `json:",omitempty"`
	At     []declAt
}

// A declAt is where one declaration of an entry is: its file, the byte
// offset and line it starts at, and its length in bytes.
type declAt struct {
	File              string
	Offset, Line, Len int
}

type refsRecord struct {
	Template, HardwareProfile refRecord
	Users                     []userRecord `json:",omitempty"`
}

type refRecord struct {
	Name string     `json:",omitempty"`
	At   diag.Range `json:",omitempty"`
	Set  bool       `json:",omitempty"`
}

type userRecord struct {
	Name        string
	Declared    diag.Range
	Profiles    []refRecord `json:",omitempty"`
	HasProfiles bool        `json:",omitempty"`
}

func (r ref) record() refRecord { return refRecord{r.name, r.at, r.set} }

func (r refRecord) ref() ref { return ref{r.Name, r.At, r.Set} }

// encodeEntry lays out e, declared at at, for the cache; false when it
// is not kept (its problems are found again each time).
func encodeEntry(e *entry, at []declAt) ([][]byte, bool) {
	if e.diags != nil || e.dataDiags != nil {
		return nil, false
	}
	rec := entryRecord{Decl: e.decl, Doc: e.doc, Fixed: e.fixed, Inputs: e.inputs, At: at}
	if e.refs.template.set || e.refs.hardwareProfile.set || len(e.refs.users) > 0 {
		rr := &refsRecord{Template: e.refs.template.record(), HardwareProfile: e.refs.hardwareProfile.record()}
		for _, u := range e.refs.users {
			ur := userRecord{Name: u.name, Declared: u.declared, HasProfiles: u.hasProfiles}
			for _, p := range u.profiles {
				ur.Profiles = append(ur.Profiles, p.record())
			}
			rr.Users = append(rr.Users, ur)
		}
		rec.Refs = rr
	}
	var tree, data []byte
	var err error
	if e.tree != nil {
		rec.Tree = true
		if tree, err = e.tree.MarshalBinary(); err != nil {
			return nil, false
		}
	} else if e.enc != nil {
		rec.Tree, tree = true, e.enc // a host's, kept encoded (readEntry)
	}
	if e.data != nil {
		rec.Data = true
		if data, err = merge.EncodeValue(e.data); err != nil {
			return nil, false
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, false
	}
	return [][]byte{[]byte(entryVersion), b, tree, data}, true
}

// decodeEntry reads an entry the cache kept, with its declarations now
// at at (in the same order), moving its positions with them. A host's
// tree (host) is kept encoded.
func decodeEntry(parts [][]byte, at []declAt, host bool) (*entry, bool) {
	return decodeEntryAs(parts, at, host, nil)
}

// decodeEntryAs is decodeEntry, with every source of the entry replaced
// by what rename returns for it (when not nil): an entry made from
// another written alike (see entryalike.go).
func decodeEntryAs(parts [][]byte, at []declAt, host bool, rename func(merge.Source) merge.Source) (*entry, bool) {
	if len(parts) != 4 || string(parts[0]) != entryVersion {
		return nil, false
	}
	var rec entryRecord
	if json.Unmarshal(parts[1], &rec) != nil || len(rec.At) != len(at) {
		return nil, false
	}
	move := rebaser(rec.At, at)
	e := &entry{decl: move(rec.Decl), doc: rec.Doc, inputs: rec.Inputs}
	for _, fp := range rec.Fixed {
		fp.Range = move(fp.Range)
		if rename != nil {
			fp.Source = rename(fp.Source)
		}
		e.fixed = append(e.fixed, fp)
	}
	for k, r := range e.inputs {
		e.inputs[k] = move(r)
	}
	if rr := rec.Refs; rr != nil {
		e.refs.template, e.refs.hardwareProfile = rr.Template.ref(), rr.HardwareProfile.ref()
		e.refs.template.at, e.refs.hardwareProfile.at = move(e.refs.template.at), move(e.refs.hardwareProfile.at)
		for _, u := range rr.Users {
			ur := userRef{name: u.Name, declared: move(u.Declared), hasProfiles: u.HasProfiles}
			for _, p := range u.Profiles {
				pr := p.ref()
				pr.at = move(pr.at)
				ur.profiles = append(ur.profiles, pr)
			}
			e.refs.users = append(e.refs.users, ur)
		}
	}
	if rec.Tree {
		b := parts[2]
		if rename != nil || !slices.Equal(rec.At, at) {
			// Moved, and renamed, as it is encoded.
			if rename == nil {
				rename = func(s merge.Source) merge.Source { return s }
			}
			var err error
			if b, err = merge.Moved(b, move, rename); err != nil {
				return nil, false
			}
		}
		if host {
			// A host's tree is read when the host is merged: most hosts
			// of an edited fleet are not (see hostRecord).
			e.enc = b
		} else {
			t, err := merge.UnmarshalTree(b)
			if err != nil {
				return nil, false
			}
			e.tree = t
		}
	}
	if rec.Data {
		v, err := merge.DecodeValue(parts[3])
		if err != nil {
			return nil, false
		}
		e.data = v
	}
	return e, true
}

// rebaser returns what moves a range of an entry kept with its
// declarations at from to where they are now, to: a position in a
// declaration's lines moves with them (a declaration is whole lines, so
// columns stay); any other (in the schema, or in a context of a file,
// whose place is part of the entry's key) stays.
func rebaser(from, to []declAt) func(diag.Range) diag.Range {
	if slices.Equal(from, to) {
		return func(r diag.Range) diag.Range { return r }
	}
	return func(r diag.Range) diag.Range {
		if r.File == "" {
			return r
		}
		best := -1
		for i, d := range from {
			if d.File == r.File && d.Offset <= r.Start.Offset && r.Start.Offset < d.Offset+d.Len {
				best = i
			}
		}
		if best < 0 {
			return r
		}
		dOff, dLine := to[best].Offset-from[best].Offset, to[best].Line-from[best].Line
		r.Start.Offset += dOff
		r.Start.Line += dLine
		if r.End.Line > 0 {
			r.End.Offset += dOff
			r.End.Line += dLine
		}
		return r
	}
}
