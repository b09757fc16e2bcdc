package syntax

import "fmt"

// A Kind is the kind of a token.
type Kind uint8

// The token kinds. Trivia kinds (SPACE, LINECOMMENT, BLOCKCOMMENT) appear
// only in Token.Leading.
const (
	ILLEGAL Kind = iota // a byte no token starts with
	EOF                 // end of input; its Leading holds the final trivia

	SPACE        // [ \t\r\n]+
	LINECOMMENT  // # ... up to, not including, the end of line
	BLOCKCOMMENT // /* ... */

	IDENT    // foo, a-b, x'
	INT      // 123
	FLOAT    // 1.5, .5, 1.e5
	PATH     // ./a, /a/b, a/b, ./a/ before ${; the first piece of a path
	HPATH    // ~/a; ~/ before ${
	PATHTEXT // a later piece of an interpolated path
	SPATH    // <nixpkgs>
	URILIT   // https://example.org

	// Keywords.
	IF
	THEN
	ELSE
	ASSERT
	WITH
	LET
	IN
	REC
	INHERIT
	OR // the keyword or

	// Operators and punctuation.
	ELLIPSIS  // ...
	EQ        // ==
	NEQ       // !=
	LEQ       // <=
	GEQ       // >=
	LAND      // &&
	LOR       // ||
	IMPL      // ->
	UPDATE    // //
	CONCAT    // ++
	PIPERIGHT // |>, only with PipeOperators
	PIPELEFT  // <|, only with PipeOperators
	PLUS      // +
	MINUS     // -
	STAR      // *
	SLASH     // /
	NOT       // !
	QUESTION  // ?
	LT        // <
	GT        // >
	DOT       // .
	COLON     // :
	COMMA     // ,
	SEMI      // ;
	AT        // @
	ASSIGN    // =
	LPAREN    // (
	RPAREN    // )
	LBRACK    // [
	RBRACK    // ]
	LBRACE    // {
	RBRACE    // }
	INTERP    // ${

	// String pieces.
	QUOTE     // " opening or closing a string
	INDOPEN   // '' opening an indented string, with following spaces and newline
	INDCLOSE  // '' closing an indented string
	STRTEXT   // a run of a "..." string, escapes included
	INDTEXT   // a run of a ''...'' string
	INDESCAPE // ''$ or ''' or ''\c in an indented string
	INDLONE   // a lone $ or ' in an indented string

	numKinds
)

var kindNames = [...]string{
	ILLEGAL: "illegal character", EOF: "end of file",
	SPACE: "whitespace", LINECOMMENT: "comment", BLOCKCOMMENT: "comment",
	IDENT: "identifier", INT: "integer", FLOAT: "float", PATH: "path", HPATH: "path",
	PATHTEXT: "path", SPATH: "search path", URILIT: "URI",
	IF: "if", THEN: "then", ELSE: "else", ASSERT: "assert", WITH: "with", LET: "let",
	IN: "in", REC: "rec", INHERIT: "inherit", OR: "or",
	ELLIPSIS: "...", EQ: "==", NEQ: "!=", LEQ: "<=", GEQ: ">=", LAND: "&&", LOR: "||",
	IMPL: "->", UPDATE: "//", CONCAT: "++", PIPERIGHT: "|>", PIPELEFT: "<|",
	PLUS: "+", MINUS: "-", STAR: "*", SLASH: "/", NOT: "!", QUESTION: "?", LT: "<", GT: ">",
	DOT: ".", COLON: ":", COMMA: ",", SEMI: ";", AT: "@", ASSIGN: "=",
	LPAREN: "(", RPAREN: ")", LBRACK: "[", RBRACK: "]", LBRACE: "{", RBRACE: "}", INTERP: "${",
	QUOTE: `"`, INDOPEN: "''", INDCLOSE: "''", STRTEXT: "string text", INDTEXT: "string text",
	INDESCAPE: "string escape", INDLONE: "string text",
}

// String returns the token as it is written for fixed tokens, and a
// description such as "identifier" for the others.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// IsTrivia reports whether k is whitespace or a comment.
func (k Kind) IsTrivia() bool { return k == SPACE || k == LINECOMMENT || k == BLOCKCOMMENT }

// IsKeyword reports whether k is one of the keywords.
func (k Kind) IsKeyword() bool { return k >= IF && k <= OR }

var keywords = map[string]Kind{
	"if": IF, "then": THEN, "else": ELSE, "assert": ASSERT, "with": WITH,
	"let": LET, "in": IN, "rec": REC, "inherit": INHERIT, "or": OR,
}

// A Token is one token of the source with the trivia before it. Text is
// the exact source text. Start is NoPos for tokens built by the constructors.
// The zero Token is an ILLEGAL token without text.
type Token struct {
	Kind  Kind
	Start Pos
	Text  string
	// Leading holds the whitespace and comments between the previous
	// token and this one, in order.
	Leading []Token
}

// End returns the position just after the token's text.
func (t *Token) End() Pos {
	if t == nil || !t.Start.IsValid() {
		return NoPos
	}
	return t.Start + Pos(len(t.Text))
}

// A Pos is a compact position in a file: the byte offset plus one, so that
// the zero value NoPos means "no position". File.Position converts it to
// line and column for display.
type Pos int

// NoPos is the zero Pos; it names no place.
const NoPos Pos = 0

// IsValid reports whether p names a place.
func (p Pos) IsValid() bool { return p != NoPos }

// Offset returns the 0-based byte offset of p; p must be valid.
func (p Pos) Offset() int { return int(p) - 1 }

func posAt(off int) Pos { return Pos(off + 1) }
