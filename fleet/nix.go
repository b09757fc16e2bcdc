package fleet

import (
	"bytes"
	"os"
	"path/filepath"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// ParseNix checks that src, the contents of the Nix file filename, parses
// as Nix 2.8 would parse it. On syntax errors it returns Errors holding
// every error found, sorted by position.
func ParseNix(filename string, src []byte) error {
	_, errs := syntax.Parse(filename, src)
	if len(errs) > 0 {
		return fromDiag(errs)
	}
	return nil
}

// ShowNix returns the expression of the Nix file filename in the normal
// form `nix-instantiate --parse filename` prints, without the final
// newline: relative paths are resolved against the file's directory and ~
// against $HOME. Let bindings and function arguments are in source order,
// where Nix 2.8 uses the order of its symbol table. On syntax errors it
// returns Errors.
func ShowNix(filename string, src []byte) (string, error) {
	f, errs := syntax.Parse(filename, src)
	if len(errs) > 0 {
		return "", fromDiag(errs)
	}
	abs, err := filepath.Abs(filename)
	if err != nil {
		return "", err
	}
	home, _ := os.UserHomeDir()
	var b bytes.Buffer
	if err := syntax.Show(&b, f.Expr, syntax.ShowOptions{BaseDir: filepath.Dir(abs), Home: home}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// FormatNix returns src, the contents of the Nix file filename, in
// fleet's canonical layout. Formatting changes only whitespace and never
// the meaning. On syntax errors it returns Errors and no output.
func FormatNix(filename string, src []byte) ([]byte, error) {
	f, errs := syntax.Parse(filename, src)
	if errs = grammarErrors(errs); len(errs) > 0 {
		return nil, fromDiag(errs)
	}
	var b bytes.Buffer
	if err := format.Node(&b, f); err != nil {
		return nil, err
	}
	if err := format.Verify(f, b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// grammarErrors drops the errors that do not stop a file from being laid
// out: undefined variables are Nix's errors, not the grammar's, and
// formatting a file that has them is still useful.
func grammarErrors(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Code != syntax.UndefinedVariable {
			out = append(out, d)
		}
	}
	return out
}
