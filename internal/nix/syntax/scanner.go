package syntax

import (
	"strings"
	"unicode/utf8"
)

// The scanner mirrors the state stack of Nix's lexer: braces and ${ push a
// code state, } pops it, quotes push and pop string states, and a path
// enters the path states that decide whether a following ${ continues it.
// Tokenizing depends on nothing the parser knows, so a whole file is
// scanned up front.

type mode uint8

const (
	modeCode        mode = iota // DEFAULT (and INITIAL at the bottom)
	modeString                  // "..."
	modeInd                     // ''...''
	modeInPath                  // INPATH: a path piece ended without a slash
	modeInPathSlash             // INPATH_SLASH: a path piece ended with a slash
)

type scanner struct {
	runs
	src    string
	off    int
	stack  []mode
	pipes  bool
	toks   []Token
	trivia []Token // backing store of every token's Leading
	lead   int     // start in trivia of the current token's Leading
	errorf func(pos, end int, format string, args ...any)
}

func (s *scanner) top() mode   { return s.stack[len(s.stack)-1] }
func (s *scanner) push(m mode) { s.stack = append(s.stack, m) }
func (s *scanner) pop() {
	if len(s.stack) > 1 {
		s.stack = s.stack[:len(s.stack)-1]
	}
}

func (s *scanner) emit(k Kind, n int) {
	t := Token{Kind: k, Start: posAt(s.off), Text: s.src[s.off : s.off+n]}
	if len(s.trivia) > s.lead {
		t.Leading = s.trivia[s.lead:len(s.trivia):len(s.trivia)]
		s.lead = len(s.trivia)
	}
	s.toks = append(s.toks, t)
	s.off += n
}

func (s *scanner) emitTrivia(k Kind, n int) {
	s.trivia = append(s.trivia, Token{Kind: k, Start: posAt(s.off), Text: s.src[s.off : s.off+n]})
	s.off += n
}

// reserveMax bounds the tokens scan reserves room for before it knows
// how many there are: files up to 256 KiB get room for all at once.
const reserveMax = 64 << 10

// scan tokenizes the whole source. The last token is always EOF.
func (s *scanner) scan() []Token {
	s.stack = append(s.stack[:0], modeCode)
	// A token takes about four bytes of real Nix and one in two has
	// trivia before it; growing these slices would copy them. Beyond
	// reserveMax tokens they grow as needed instead: a file of long
	// strings (a generated module holding a dashboard per host, 23 MB)
	// has far fewer tokens, and 56 bytes reserved for every four of its
	// bytes were 480 MB.
	s.toks = make([]Token, 0, min(len(s.src)/4, reserveMax)+16)
	s.trivia = make([]Token, 0, min(len(s.src)/8, reserveMax/2)+16)
	for {
		if s.off >= len(s.src) {
			if m := s.top(); m == modeInPathSlash {
				s.errorf(s.off, s.off, "path has a trailing slash")
			}
			s.emit(EOF, 0)
			return s.toks
		}
		switch s.top() {
		case modeCode:
			s.scanCode()
		case modeString:
			s.scanString()
		case modeInd:
			s.scanInd()
		default:
			s.scanInPath()
		}
	}
}

func isPathChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+'
}

func isIDStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

func isIDChar(c byte) bool { return isIDStart(c) || '0' <= c && c <= '9' || c == '\'' || c == '-' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// IsURIChar reports whether c may follow the colon of a URI literal
// (a:b), as Nix's lexer has it.
func IsURIChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("%/?:@&=+$,-_.!~*'", c) >= 0
}

// The match functions return the length of the longest match of one of
// Nix's token rules at s[i:], or 0.

func matchID(s string, i int) int {
	if i >= len(s) || !isIDStart(s[i]) {
		return 0
	}
	j := i + 1
	for j < len(s) && isIDChar(s[j]) {
		j++
	}
	return j - i
}

func matchDigits(s string, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j - i
}

// matchFloat matches (([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?.
func matchFloat(s string, i int) int {
	j := i
	switch {
	case j < len(s) && '1' <= s[j] && s[j] <= '9':
		j += matchDigits(s, j)
		if j >= len(s) || s[j] != '.' {
			return 0
		}
		j++
		j += matchDigits(s, j)
	default:
		if j < len(s) && s[j] == '0' {
			j++
		}
		if j >= len(s) || s[j] != '.' {
			return 0
		}
		j++
		n := matchDigits(s, j)
		if n == 0 {
			return 0
		}
		j += n
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if n := matchDigits(s, k); n > 0 {
			j = k + n
		}
	}
	return j - i
}

// runs remembers the last maximal run of path characters and of URI
// scheme characters found, so that the longest-match rules, tried at
// every position of a long run such as a.a.a.a (which is no path and no
// URI), scan it once rather than once per token. The zero runs is ready
// to use.
type runs struct{ path, scheme run }

// A run is [from, to) of the source, every byte of it of one class.
type run struct{ from, to int }

// length returns how many bytes from i are of the class in.
func (r *run) length(s string, i int, in func(byte) bool) int {
	if r.from <= i && i < r.to {
		return r.to - i
	}
	j := i
	for j < len(s) && in(s[j]) {
		j++
	}
	if j > i {
		r.from, r.to = i, j
	}
	return j - i
}

func (r *runs) pathChars(s string, i int) int { return r.path.length(s, i, isPathChar) }

// IsSchemeChar reports whether c may be part of a URI literal's scheme,
// the part before its colon.
func IsSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '+' || c == '-' || c == '.'
}

// matchSegments matches (\/{PATH_CHAR}+)+\/? at s[i:], returning 0 when
// there is no segment.
func (r *runs) matchSegments(s string, i int) int {
	j := i
	for j+1 < len(s) && s[j] == '/' && isPathChar(s[j+1]) {
		j++
		j += r.pathChars(s, j)
	}
	if j == i {
		return 0
	}
	if j < len(s) && s[j] == '/' {
		j++
	}
	return j - i
}

// matchPath matches {PATH_CHAR}*(\/{PATH_CHAR}+)+\/?.
func (r *runs) matchPath(s string, i int) int {
	n := r.pathChars(s, i)
	m := r.matchSegments(s, i+n)
	if m == 0 {
		return 0
	}
	return n + m
}

// matchPathSeg matches {PATH_CHAR}*\/ when it is followed by ${, returning
// the length of the segment without the ${.
func (r *runs) matchPathSeg(s string, i int) int {
	n := r.pathChars(s, i)
	j := i + n
	if j < len(s) && s[j] == '/' && strings.HasPrefix(s[j+1:], "${") {
		return n + 1
	}
	return 0
}

// matchHPath matches \~(\/{PATH_CHAR}+)+\/?.
func (r *runs) matchHPath(s string, i int) int {
	if i >= len(s) || s[i] != '~' {
		return 0
	}
	m := r.matchSegments(s, i+1)
	if m == 0 {
		return 0
	}
	return 1 + m
}

// matchSPath matches \<{PATH_CHAR}+(\/{PATH_CHAR}+)*\>.
func (r *runs) matchSPath(s string, i int) int {
	if i >= len(s) || s[i] != '<' {
		return 0
	}
	j := i + 1
	n := r.pathChars(s, j)
	if n == 0 {
		return 0
	}
	j += n
	for j+1 < len(s) && s[j] == '/' && isPathChar(s[j+1]) {
		j++
		j += r.pathChars(s, j)
	}
	if j < len(s) && s[j] == '>' {
		return j + 1 - i
	}
	return 0
}

// matchURI matches [a-zA-Z][a-zA-Z0-9\+\-\.]*\:[URI chars]+.
func (r *runs) matchURI(s string, i int) int {
	if i >= len(s) || !('a' <= s[i] && s[i] <= 'z' || 'A' <= s[i] && s[i] <= 'Z') {
		return 0
	}
	j := i + r.scheme.length(s, i, IsSchemeChar)
	if j >= len(s) || s[j] != ':' {
		return 0
	}
	j++
	k := j
	for k < len(s) && IsURIChar(s[k]) {
		k++
	}
	if k == j {
		return 0
	}
	return k - i
}

var operators = []struct {
	text string
	kind Kind
}{
	{"...", ELLIPSIS}, {"==", EQ}, {"!=", NEQ}, {"<=", LEQ}, {">=", GEQ}, {"&&", LAND},
	{"||", LOR}, {"->", IMPL}, {"//", UPDATE}, {"++", CONCAT},
}

// opStart marks the bytes a multi-character operator can start with.
var opStart = [256]bool{'.': true, '=': true, '!': true, '<': true, '>': true, '&': true, '|': true, '-': true, '/': true, '+': true}

var singles = [256]Kind{
	'+': PLUS, '-': MINUS, '*': STAR, '/': SLASH, '!': NOT, '?': QUESTION, '<': LT, '>': GT,
	'.': DOT, ':': COLON, ',': COMMA, ';': SEMI, '@': AT, '=': ASSIGN, '(': LPAREN, ')': RPAREN,
	'[': LBRACK, ']': RBRACK,
}

func (s *scanner) scanCode() {
	src, i := s.src, s.off
	c := src[i]
	// Trivia.
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r' || src[j] == '\n') {
			j++
		}
		s.emitTrivia(SPACE, j-i)
		return
	case c == '#':
		j := i + 1
		for j < len(src) && src[j] != '\n' && src[j] != '\r' {
			j++
		}
		s.emitTrivia(LINECOMMENT, j-i)
		return
	case c == '/' && i+1 < len(src) && src[i+1] == '*':
		end := strings.Index(src[i+2:], "*/")
		if end < 0 {
			s.errorf(i, len(src), "comment not terminated: expected `*/`")
			s.emitTrivia(BLOCKCOMMENT, len(src)-i)
			return
		}
		s.emitTrivia(BLOCKCOMMENT, end+4)
		return
	}

	// Longest match over the rules of Nix's lexer; on a tie the earlier
	// rule wins, which the order of the comparisons below keeps.
	best, kind := 0, ILLEGAL
	try := func(n int, k Kind) {
		if n > best {
			best, kind = n, k
		}
	}
	if opStart[c] {
		for _, op := range operators {
			if strings.HasPrefix(src[i:], op.text) {
				try(len(op.text), op.kind)
				break
			}
		}
	}
	if s.pipes && (strings.HasPrefix(src[i:], "|>") || strings.HasPrefix(src[i:], "<|")) {
		if src[i] == '|' {
			try(2, PIPERIGHT)
		} else {
			try(2, PIPELEFT)
		}
	}
	if n := matchID(src, i); n > 0 {
		k := IDENT
		if n <= 7 {
			if kw, ok := keywords[src[i:i+n]]; ok {
				k = kw
			}
		}
		try(n, k)
	}
	try(matchDigits(src, i), INT)
	try(matchFloat(src, i), FLOAT)
	switch c {
	case '$':
		if strings.HasPrefix(src[i:], "${") {
			try(2, INTERP)
		}
	case '}':
		try(1, RBRACE)
	case '{':
		try(1, LBRACE)
	case '"':
		try(1, QUOTE)
	case '\'':
		if strings.HasPrefix(src[i:], "''") {
			n := 2
			j := i + 2
			for j < len(src) && src[j] == ' ' {
				j++
			}
			if j < len(src) && src[j] == '\n' {
				n = j + 1 - i
			}
			try(n, INDOPEN)
		}
	}
	pathSeg := 0
	if n := s.matchPathSeg(src, i); n > 0 && n+2 > best {
		best, kind, pathSeg = n+2, PATH, n
	}
	if c == '~' && strings.HasPrefix(src[i:], "~/${") && 4 > best {
		best, kind, pathSeg = 4, HPATH, 2
	}
	if n := s.matchPath(src, i); n > best {
		best, kind, pathSeg = n, PATH, 0
	}
	if n := s.matchHPath(src, i); n > best {
		best, kind, pathSeg = n, HPATH, 0
	}
	try(s.matchSPath(src, i), SPATH)
	try(s.matchURI(src, i), URILIT)
	if best == 0 {
		if k := singles[c]; k != ILLEGAL {
			best, kind = 1, k
		}
	}

	switch kind {
	case ILLEGAL:
		_, n := utf8.DecodeRuneInString(src[i:])
		s.errorf(i, i+n, "unexpected character %q", src[i:i+n])
		s.emit(ILLEGAL, n)
	case PATH, HPATH:
		if pathSeg > 0 {
			best = pathSeg
		}
		s.emit(kind, best)
		s.pushPath(src[s.off-1])
	case INTERP, LBRACE:
		s.emit(kind, best)
		s.push(modeCode)
	case RBRACE:
		s.emit(kind, best)
		s.pop()
	case QUOTE:
		s.emit(kind, best)
		s.push(modeString)
	case INDOPEN:
		s.emit(kind, best)
		s.push(modeInd)
	default:
		s.emit(kind, best)
	}
}

func (s *scanner) pushPath(last byte) {
	if last == '/' {
		s.push(modeInPathSlash)
	} else {
		s.push(modeInPath)
	}
}

func (s *scanner) scanInPath() {
	src, i := s.src, s.off
	if strings.HasPrefix(src[i:], "${") {
		s.pop()
		s.push(modeInPath)
		s.push(modeCode)
		s.emit(INTERP, 2)
		return
	}
	n := s.matchPath(src, i)
	if m := s.pathChars(src, i); m < len(src)-i && src[i+m] == '/' && m+1 > n {
		n = m + 1 // {PATH_SEG}
	}
	if m := s.pathChars(src, i); m > n {
		n = m
	}
	if n > 0 {
		s.pop()
		s.emit(PATHTEXT, n)
		s.pushPath(src[s.off-1])
		return
	}
	if s.top() == modeInPathSlash {
		s.errorf(i, i, "path has a trailing slash")
	}
	s.pop() // PATH_END: rescan in the code state
}

func (s *scanner) scanString() {
	src, i := s.src, s.off
	switch {
	case src[i] == '"':
		s.emit(QUOTE, 1)
		s.pop()
		return
	case strings.HasPrefix(src[i:], "${"):
		s.emit(INTERP, 2)
		s.push(modeCode)
		return
	}
	j := i
loop:
	for j < len(src) {
		switch src[j] {
		case '"':
			break loop
		case '\\':
			j += 2
		case '$':
			if j+1 >= len(src) {
				j++
				break loop
			}
			switch src[j+1] {
			case '{':
				break loop
			case '"':
				j++
				break loop
			case '\\':
				j++
			default:
				j += 2
			}
		default:
			j++
		}
	}
	if j > len(src) {
		j = len(src)
	}
	s.emit(STRTEXT, j-i)
}

func (s *scanner) scanInd() {
	src, i := s.src, s.off
	if strings.HasPrefix(src[i:], "''") {
		switch {
		case i+2 < len(src) && src[i+2] == '\'':
			s.emit(INDESCAPE, 3)
		case i+2 < len(src) && src[i+2] == '$':
			s.emit(INDESCAPE, 3)
		case i+3 < len(src) && src[i+2] == '\\':
			s.emit(INDESCAPE, 4)
		default:
			s.emit(INDCLOSE, 2)
			s.pop()
		}
		return
	}
	if strings.HasPrefix(src[i:], "${") {
		s.emit(INTERP, 2)
		s.push(modeCode)
		return
	}
	j := i
	for j < len(src) {
		c := src[j]
		if c == '$' || c == '\'' {
			if j+1 >= len(src) {
				break
			}
			d := src[j+1]
			if c == '$' && (d == '{' || d == '\'') || c == '\'' && (d == '\'' || d == '$') {
				break
			}
			j += 2
			continue
		}
		j++
	}
	if j == i {
		s.emit(INDLONE, 1)
		return
	}
	s.emit(INDTEXT, j-i)
}
