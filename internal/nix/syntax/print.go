package syntax

import (
	"bufio"
	"bytes"
	"io"
)

// WriteTo writes the file exactly as it was parsed: every token with the
// trivia before it. For a parsed File the output equals the source.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriter(w)}
	Tokens(f, func(t *Token) { writeToken(cw, t) })
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

// Print writes the tokens of n and their leading trivia verbatim. It is
// the verbatim printer for any node; for a whole file use File.WriteTo.
func Print(w io.Writer, n Node) error {
	cw := &countWriter{w: bufio.NewWriter(w)}
	Tokens(n, func(t *Token) { writeToken(cw, t) })
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.err
}

// Bytes returns the verbatim text of n.
func Bytes(n Node) []byte {
	var b bytes.Buffer
	Print(&b, n)
	return b.Bytes()
}

func writeToken(w *countWriter, t *Token) {
	for i := range t.Leading {
		w.WriteString(t.Leading[i].Text)
	}
	w.WriteString(t.Text)
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

// WriteString writes s unless an earlier write failed, counting bytes.
func (c *countWriter) WriteString(s string) {
	if c.err != nil {
		return
	}
	n, err := c.w.WriteString(s)
	c.n += int64(n)
	c.err = err
}
