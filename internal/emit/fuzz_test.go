package emit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"fleetnix.dev/fleet/internal/disko"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// hostileSeeds are strings that have broken generators: comment and line
// terminators, Nix string syntax, code, paths, NUL, invalid UTF-8,
// direction overrides.
var hostileSeeds = []string{
	"", "x", "ops\r]; injected = builtins.readFile /etc/hostname; x = [ #",
	"a.age + builtins.trace \"INJECTED\" ./b.age", "\"; x = 1; \"", "${builtins.currentTime}",
	"''${x}", "\\${x}", "''", "*/ x /*", "# x\ny = 1;", "a\r\nb\rc\nd", "\x00", "a\x00b", "\xff\xfe",
	"\u202egnp.exe", "\u2028\u2029\u0085", "../../etc/passwd", "./x", "/abs/path", "~/x", "<nixpkgs>",
	"http://example.org/x?y=1#z", "a.b.c", "rec", "or", "let", "${", "}", "\t\v\f", strings.Repeat("x", 300),
}

// FuzzEmit puts hostile strings in every string of a fleet emit writes,
// names and map keys included, and raw Nix where a value may be raw Nix:
// Generate must not panic, must never fail its own round-trip check (that
// is a fault of fleet's, whatever the input), and every file it returns
// must parse, be formatted, start with the header and carry no character
// a comment could hide or end at.
func FuzzEmit(f *testing.F) {
	for i, s := range hostileSeeds {
		f.Add(s, hostileSeeds[(i+1)%len(hostileSeeds)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, s, k string, sel uint8) {
		if len(s)+len(k) > 4096 {
			t.Skip()
		}
		fl := hostileFleet(s, k, sel)
		files, err := Generate(fl)
		if err != nil {
			if errors.Is(err, ErrRoundTrip) {
				t.Fatalf("round trip failed: %v", err)
			}
			return
		}
		for _, g := range files {
			checkHostileOutput(t, g, sel>>1&3 == 0)
		}
	})
}

// hostileFleet builds a fleet with s in every string and k as every map
// key it can take one; sel picks names (hostile or plain), the raw Nix
// marker holding s, and whether the host has a disk layout.
func hostileFleet(s, k string, sel uint8) *Fleet {
	name := "web"
	if sel&1 != 0 {
		name = s
	}
	var marker map[string]any
	switch sel >> 1 & 3 {
	case 0:
		marker = map[string]any{"$nix": s}
	case 1:
		marker = map[string]any{"$pkg": s}
	case 2:
		marker = map[string]any{"$force": s}
	default:
		marker = map[string]any{"$default": map[string]any{k: s}}
	}
	data := map[string]any{
		k:              s,
		"networking":   map[string]any{"hostName": s, k: []any{s, marker}},
		"environment":  map[string]any{"etc": map[string]any{k: map[string]any{"text": s}}},
		"services":     map[string]any{k: marker, "x": map[string]any{"password": map[string]any{"$secret": "db"}}},
		"users":        map[string]any{"users": map[string]any{name: map[string]any{"description": s}}},
		"boot":         map[string]any{"kernelParams": []any{s, k}},
		"fileSystems":  map[string]any{k: map[string]any{"device": s}},
		"system":       map[string]any{"stateVersion": "25.05"},
		"imports":      []any{marker},
		"swapDevices":  []any{map[string]any{"device": s}},
		"nix.settings": map[string]any{"substituters": []any{s}},
	}
	h := Host{
		Name:      name,
		Comment:   []string{"Host " + s + ".", s},
		NixOS:     data,
		Derived:   map[string]any{"services": map[string]any{"prometheus": map[string]any{k: s}}},
		Extra:     map[string]any{k + "2": s},
		Users:     []User{{Name: name, Comment: []string{s}, Home: map[string]any{k: s, "programs": map[string]any{"git": map[string]any{"userName": s}}}}},
		Modules:   []string{"home-manager.nixosModules.home-manager", s},
		AdminKeys: []string{"ssh-ed25519 AAAA" + s},
	}
	inputs := []Input{{Name: "nixpkgs", URL: s}, {Name: k, URL: s, Follows: map[string]string{k: s}}}
	if sel&8 != 0 {
		h.Disks = &disko.Layout{Disks: []disko.Disk{{Name: "main", Device: "/dev/" + s, Partitions: []disko.Partition{
			{Name: "esp", Size: "512M", Type: "EF00", Filesystem: &disko.Filesystem{Format: "vfat", Mountpoint: "/boot", MountOptions: []string{s}}},
			{Name: "root", Size: "100%", Filesystem: &disko.Filesystem{Format: "ext4", Mountpoint: "/", ExtraArgs: []string{s, k}}, LUKS: &disko.LUKS{Name: "crypted", PasswordFile: "/tmp/" + s}},
		}}}}
		inputs = append(inputs, Input{Name: DiskoInput, URL: s})
	}
	out, secrets := "nix", "secrets"
	if sel&16 != 0 {
		out, secrets = s, k
	}
	file := "db.age"
	if sel&32 != 0 {
		file = s
	}
	return &Fleet{
		Description: s,
		Inputs:      inputs,
		Hosts:       []Host{h},
		Secrets: []Secret{{Name: "db", File: file, Owner: s, Group: k, Mode: s,
			Recipients: []Recipient{{Name: s, Key: "ssh-ed25519 AAAA" + k}, {Name: "admin " + k, Key: s}}}},
		OutDir:     out,
		SecretsDir: secrets,
	}
}

// checkHostileOutput checks one generated file of hostile input; rawNix
// says whether the input had raw Nix, whose comments are its own.
func checkHostileOutput(t *testing.T, g File, rawNix bool) {
	t.Helper()
	if _, errs := syntax.Parse(g.Path, g.Data); len(errs) > 0 {
		t.Fatalf("%s does not parse: %v\n%s", g.Path, errs, g.Data)
	}
	if !bytes.HasPrefix(g.Data, []byte(Header+"\n")) {
		t.Fatalf("%s does not start with the header", g.Path)
	}
	if again, err := format.Source(g.Data); err != nil || !bytes.Equal(again, g.Data) {
		t.Fatalf("%s changes when formatted (%v)", g.Path, err)
	}
	if bytes.IndexByte(g.Data, 0) >= 0 {
		t.Fatalf("%s holds a NUL", g.Path)
	}
	if !rawNix {
		// Every comment is one fleet wrote (raw Nix may carry its own).
		pf, _ := syntax.Parse(g.Path, g.Data)
		syntax.Tokens(pf, func(tok *syntax.Token) {
			for _, c := range tok.Leading {
				if c.Kind != syntax.LINECOMMENT && c.Kind != syntax.BLOCKCOMMENT {
					continue
				}
				for _, r := range c.Text {
					if r == utf8.RuneError || !unicode.IsGraphic(r) && r != ' ' || bidiOverride(r) {
						t.Fatalf("%s: comment %q holds %U", g.Path, c.Text, r)
					}
				}
			}
		})
	}
}

func bidiOverride(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || 0x202a <= r && r <= 0x202e || 0x2066 <= r && r <= 0x2069
}
