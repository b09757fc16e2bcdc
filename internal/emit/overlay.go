package emit

import (
	"fmt"
	"sort"
	"strconv"
)

// overlay merges a host's free-form NixOS configuration (extra) over the
// configuration its features compute (base), the way the NixOS module
// system would merge the two definitions, so the host file can hold both
// as one attribute set:
//
//   - structs merge field by field;
//   - lists concatenate, base first (NixOS concatenates list definitions);
//   - {$force: v} in extra replaces the base value (lib.mkForce v);
//   - {$default: v} in extra yields to a base value (lib.mkDefault v);
//   - equal values are one definition;
//   - anything else is a conflict NixOS would reject: an error naming
//     the path, so it can be reported where the user wrote it.
//
// Neither base nor extra is modified: the result is a new struct, and so
// is every struct of it both define; the rest is shared with them.
func overlay(orig, extra map[string]any, path []string) (map[string]any, error) {
	base := make(map[string]any, len(orig)+len(extra))
	for k, v := range orig {
		base[k] = v
	}
	for _, k := range sortedKeys(extra) {
		ev := extra[k]
		p := append(path[:len(path):len(path)], k)
		bv, ok := base[k]
		if !ok {
			base[k] = ev
			continue
		}
		em, eIsMap := ev.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		switch {
		case eIsMap && isMarker(em) && em["$force"] != nil:
			base[k] = ev
		case eIsMap && isMarker(em) && em["$default"] != nil:
			// The computed value wins over a default.
		case eIsMap && bIsMap && !isMarker(em) && !isMarker(bm):
			merged, err := overlay(bm, em, p)
			if err != nil {
				return nil, err
			}
			base[k] = merged
		default:
			el, eIsList := ev.([]any)
			bl, bIsList := bv.([]any)
			switch {
			case eIsList && bIsList:
				base[k] = append(append([]any(nil), bl...), el...)
			case same(ev, bv):
			default:
				return nil, &OverlayError{Path: p, Computed: bv, Extra: ev}
			}
		}
	}
	return base, nil
}

// Overlay merges a host's free-form NixOS configuration (extra) over the
// configuration its features compute (base) as the host file holds them
// (see overlay), for readers of a host's final NixOS configuration such as
// the lockout guard. Neither base nor extra is modified.
func Overlay(base, extra map[string]any) (map[string]any, error) {
	return overlay(base, extra, nil)
}

// An OverlayError is a free-form NixOS value that conflicts with the value
// the host's features compute for the same option.
type OverlayError struct {
	// Path is the option's path in the NixOS configuration.
	Path            []string
	Computed, Extra any
}

func (e *OverlayError) Error() string {
	return fmt.Sprintf("nixos.%s: %s conflicts with %s, which the host's features set; wrap it in {$force: ...} to override them",
		joinPath(e.Path), show(e.Extra), show(e.Computed))
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "."
		}
		out += s
	}
	return out
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func same(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
