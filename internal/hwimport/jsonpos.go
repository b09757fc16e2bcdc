package hwimport

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
)

// A jsonIndex maps JSON pointers ("/hardware/cpu/0") of a valid JSON
// document to the byte range of the value there, so that problems found
// in decoded data can be reported at their place in the file.
type jsonIndex struct {
	file  string
	src   []byte
	lines []int
	at    map[string][2]int
}

// newJSONIndex indexes src, which must be valid JSON.
func newJSONIndex(file string, src []byte) *jsonIndex {
	x := lineIndex(file, src)
	x.value(x.skip(0), "")
	return x
}

// lineIndex returns an index of src's lines only, for any src.
func lineIndex(file string, src []byte) *jsonIndex {
	x := &jsonIndex{file: file, src: src, at: map[string][2]int{}, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			x.lines = append(x.lines, i+1)
		}
	}
	return x
}

func (x *jsonIndex) skip(i int) int {
	for i < len(x.src) && (x.src[i] == ' ' || x.src[i] == '\t' || x.src[i] == '\n' || x.src[i] == '\r') {
		i++
	}
	return i
}

// value indexes the value at i under pointer p and returns its end. The
// document is known to be valid JSON.
func (x *jsonIndex) value(i int, p string) int {
	start := i
	if i >= len(x.src) {
		return i
	}
	switch x.src[i] {
	case '{':
		i = x.skip(i + 1)
		for i < len(x.src) && x.src[i] != '}' {
			kend := x.str(i)
			var key string
			json.Unmarshal(x.src[i:kend], &key)
			i = x.skip(kend)
			i = x.skip(i + 1) // ':'
			i = x.skip(x.value(i, p+"/"+escapePtr(key)))
			if i < len(x.src) && x.src[i] == ',' {
				i = x.skip(i + 1)
			}
		}
		i++
	case '[':
		i = x.skip(i + 1)
		for n := 0; i < len(x.src) && x.src[i] != ']'; n++ {
			i = x.skip(x.value(i, p+"/"+strconv.Itoa(n)))
			if i < len(x.src) && x.src[i] == ',' {
				i = x.skip(i + 1)
			}
		}
		i++
	case '"':
		i = x.str(i)
	default:
		for i < len(x.src) && !strings.ContainsRune(",]} \t\r\n", rune(x.src[i])) {
			i++
		}
	}
	x.at[p] = [2]int{start, i}
	return i
}

// str returns the end of the string starting at i.
func (x *jsonIndex) str(i int) int {
	for i++; i < len(x.src); i++ {
		switch x.src[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// pos converts a byte offset to a diagnostic position.
func (x *jsonIndex) pos(off int) diag.Pos {
	line := sort.Search(len(x.lines), func(i int) bool { return x.lines[i] > off }) - 1
	return diag.Pos{Line: line + 1, Col: off - x.lines[line] + 1, Offset: off}
}

// rng returns the range of the value at pointer p, or of the nearest
// enclosing value that exists.
func (x *jsonIndex) rng(p string) diag.Range {
	for {
		if r, ok := x.at[p]; ok {
			return diag.Range{File: x.file, Start: x.pos(r[0]), End: x.pos(r[1])}
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return diag.Range{File: x.file, Start: x.pos(0), End: x.pos(0)}
		}
		p = p[:i]
	}
}
