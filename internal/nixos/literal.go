package nixos

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// A litKind is what a value expression is known to be without
// evaluating it.
type litKind int

const (
	litUnknown litKind = iota // any other expression: accepted by every type
	litNull
	litBool
	litInt
	litFloat
	litString // a string; its value is known unless interpolated
	litPath
	litList
	litAttrs
	litPackage // pkgs.X, or pkgs.f applied to arguments
	litSecret  // config.age.secrets.X.path: an absolute path as a string
)

// A literal is what classify knows of a value.
type literal struct {
	kind     litKind
	b        bool
	i        int64
	f        float64
	s        string
	strKnown bool
}

// classify returns what e is known to be.
func classify(e syntax.Expr) literal {
	switch x := syntax.Unparen(e).(type) {
	case *syntax.Ident:
		switch x.Tok.Text {
		case "true":
			return literal{kind: litBool, b: true}
		case "false":
			return literal{kind: litBool}
		case "null":
			return literal{kind: litNull}
		}
	case *syntax.Int:
		if i, err := strconv.ParseInt(x.Tok.Text, 10, 64); err == nil {
			return literal{kind: litInt, i: i}
		}
	case *syntax.Float:
		if f, err := strconv.ParseFloat(x.Tok.Text, 64); err == nil {
			return literal{kind: litFloat, f: f}
		}
	case *syntax.Unary:
		if x.Op.Text == "-" {
			switch l := classify(x.X); l.kind {
			case litInt:
				return literal{kind: litInt, i: -l.i}
			case litFloat:
				return literal{kind: litFloat, f: -l.f}
			}
		}
	case *syntax.String:
		if s, err := syntax.StringValue(x); err == nil {
			return literal{kind: litString, s: s, strKnown: true}
		}
		return literal{kind: litString}
	case *syntax.URI:
		return literal{kind: litString, s: x.Tok.Text, strKnown: true}
	case *syntax.PathExpr:
		return literal{kind: litPath}
	case *syntax.List:
		return literal{kind: litList}
	case *syntax.AttrSet:
		return literal{kind: litAttrs}
	case *syntax.Select:
		head, names, ok := selectOf(x)
		if !ok {
			break
		}
		if head == "pkgs" {
			return literal{kind: litPackage}
		}
		if head == "config" && len(names) == 4 && names[0] == "age" && names[1] == "secrets" && names[3] == "path" {
			return literal{kind: litSecret}
		}
	case *syntax.Apply:
		fn := syntax.Unparen(x.Fn)
		for {
			a, ok := fn.(*syntax.Apply)
			if !ok {
				break
			}
			fn = syntax.Unparen(a.Fn)
		}
		if head, _, ok := selectOf(fn); ok && head == "pkgs" {
			return literal{kind: litPackage}
		}
	}
	return literal{kind: litUnknown}
}

// describe says what the literal is, for messages.
func (l literal) describe() string {
	switch l.kind {
	case litNull:
		return "null"
	case litBool:
		return strconv.FormatBool(l.b)
	case litInt:
		return strconv.FormatInt(l.i, 10)
	case litFloat:
		return strconv.FormatFloat(l.f, 'g', -1, 64)
	case litString:
		if l.strKnown {
			b, _ := json.Marshal(l.s)
			return string(b)
		}
		return "a string"
	case litPath:
		return "a path"
	case litList:
		return "a list"
	case litAttrs:
		return "an attribute set"
	case litPackage:
		return "a package"
	case litSecret:
		return "a secret's path"
	}
	return "an expression"
}

// equal says whether the literal is the JSON value v (a string, an
// int64, a float64, a bool or nil).
func (l literal) equal(v any) bool {
	switch x := v.(type) {
	case nil:
		return l.kind == litNull
	case bool:
		return l.kind == litBool && l.b == x
	case int64:
		return l.kind == litInt && l.i == x || l.kind == litFloat && l.f == float64(x)
	case float64:
		return l.kind == litFloat && l.f == x || l.kind == litInt && float64(l.i) == x
	case string:
		return l.kind == litString && l.strKnown && l.s == x
	}
	return false
}

// leafAccepts says whether a value of type t (not a compound type) may
// be l, and if not, why, when the type alone does not say it.
func leafAccepts(t *Type, l literal) (bool, string) {
	if l.kind == litUnknown {
		return true, ""
	}
	isString := l.kind == litString || l.kind == litSecret
	switch t.Kind {
	case "anything", "unspecified", "raw":
		return true, ""
	case "bool":
		return l.kind == litBool, ""
	case "str", "lines", "separatedString":
		return isString, ""
	case "nonEmptyStr":
		if l.kind == litString && l.strKnown && strings.TrimSpace(l.s) == "" {
			return false, "the string is empty"
		}
		return isString, ""
	case "singleLineStr":
		if l.kind == litString && l.strKnown && strings.Contains(strings.TrimSuffix(l.s, "\n"), "\n") {
			return false, "the string has more than one line"
		}
		return isString, ""
	case "strMatching":
		if l.kind == litString && l.strKnown && !t.rx.MatchString(l.s) {
			return false, fmt.Sprintf("the string does not match %s", t.Pattern)
		}
		return isString, ""
	case "int":
		return l.kind == litInt, ""
	case "float":
		return l.kind == litFloat, ""
	case "number":
		return l.kind == litInt || l.kind == litFloat, ""
	case "port":
		return l.kind == litInt && l.i >= 0 && l.i <= 65535, ""
	case "ints.between", "ints.unsigned", "ints.positive":
		if l.kind != litInt {
			return false, ""
		}
		if t.Min != nil && l.i < *t.Min || t.Max != nil && l.i > *t.Max {
			return false, "out of range"
		}
		return true, ""
	case "path":
		switch l.kind {
		case litPath, litPackage, litSecret:
			return true, ""
		case litString:
			if l.strKnown && !strings.HasPrefix(l.s, "/") {
				return false, "a path option takes an absolute path"
			}
			return true, ""
		}
		return false, ""
	case "package":
		if l.kind == litString && l.strKnown && strings.HasPrefix(l.s, "/nix/store/") {
			return true, ""
		}
		return l.kind == litPackage, ""
	case "attrs":
		return l.kind == litAttrs, ""
	case "enum":
		for _, v := range t.Values {
			if l.equal(v) {
				return true, ""
			}
		}
		if l.kind == litString && !l.strKnown {
			return true, ""
		}
		return false, ""
	}
	return false, "the manifest's type " + t.Kind + " takes no literal"
}
