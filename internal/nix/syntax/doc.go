// Package syntax implements a lossless scanner and parser for Nix source.
//
// Parse turns a file into a tree in which every byte of the input is kept:
// whitespace and comments are trivia tokens attached before the token they
// precede, and input the grammar cannot place becomes a Bad node. Writing
// the tree back with (*File).WriteTo reproduces the input exactly, for valid
// and invalid input alike.
//
// # Grammar
//
// The accepted language is the one Nix 2.8 parses: both string forms with
// all escapes, interpolation in strings, paths and attribute names, the
// path kinds, search paths and URIs, `or` as keyword and as identifier,
// legacy `let {`, and the operator table with its non-associative levels.
// The pipe operators `|>` and `<|` of later Nix versions are accepted only
// with the PipeOperators mode. Beyond the grammar, Parse reports the
// errors Nix reports while parsing: duplicate attributes and formals,
// dynamic attributes in let and inherit, out-of-range numbers and paths
// with a trailing slash.
//
// # Normal form
//
// Show prints an expression the way `nix-instantiate --parse` does, with
// attributes sorted, operators desugared and strings unescaped, so that the
// two can be compared byte for byte. Canonical layout for people is the
// business of package format, not of this package.
//
// # Building trees
//
// The constructors in build.go (Attrs, Bind, List, Str, Int, Apply, Lambda
// and friends) build trees without source for code generators; format
// prints them.
package syntax
