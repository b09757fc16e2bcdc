package nixos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// A Type is an option's type, mirroring the constructors of nixpkgs'
// lib.types. Kind names the constructor; the other fields are its
// arguments:
//
//	bool str lines int float number port path package attrs anything
//	unspecified raw nonEmptyStr singleLineStr  no arguments
//	enum                                        Values
//	listOf attrsOf nullOr uniq                  Of
//	either oneOf                                OneOf (written "of": [...])
//	strMatching                                 Pattern (an extended regular
//	                                            expression matched against the
//	                                            whole string, as builtins.match)
//	ints.between ints.unsigned ints.positive    Min, Max
//	separatedString                             Sep
//	submodule                                   Freeform: the freeformType, if any
//	module                                      Tree: a whole module of that
//	                                            tree (deferredModule, the NixOS
//	                                            configuration of a MicroVM, a
//	                                            home-manager user)
//
// The options of a submodule are entries of the manifest below its path.
// A Type is plain data; the zero Type has no kind and accepts nothing.
type Type struct {
	Kind     string
	Values   []any
	Of       *Type
	OneOf    []*Type
	Pattern  string
	Min, Max *int64
	Sep      string
	Freeform *Type
	Tree     string

	rx *regexp.Regexp
}

// kinds are the type kinds a manifest may use, with what they take.
var kinds = map[string]string{
	"bool": "", "str": "", "lines": "", "int": "", "float": "", "number": "", "port": "",
	"path": "", "package": "", "attrs": "", "anything": "", "unspecified": "", "raw": "",
	"nonEmptyStr": "", "singleLineStr": "",
	"enum": "values", "listOf": "of", "attrsOf": "of", "nullOr": "of", "uniq": "of",
	"either": "oneOf", "oneOf": "oneOf", "strMatching": "pattern",
	"ints.between": "range", "ints.unsigned": "range", "ints.positive": "range",
	"separatedString": "sep", "submodule": "freeform", "module": "tree",
}

// typeJSON is a Type's JSON form, its keys in this order.
type typeJSON struct {
	Kind     string          `json:"kind"`
	Values   []any           `json:"values,omitempty"`
	Of       json.RawMessage `json:"of,omitempty"`
	Pattern  string          `json:"pattern,omitempty"`
	Min      *int64          `json:"min,omitempty"`
	Max      *int64          `json:"max,omitempty"`
	Sep      *string         `json:"sep,omitempty"`
	Freeform *Type           `json:"freeform,omitempty"`
	Tree     string          `json:"tree,omitempty"`
}

// MarshalJSON writes t with its keys in a fixed order.
func (t *Type) MarshalJSON() ([]byte, error) {
	j := typeJSON{Kind: t.Kind, Values: t.Values, Pattern: t.Pattern, Min: t.Min, Max: t.Max, Freeform: t.Freeform, Tree: t.Tree}
	if t.Kind == "separatedString" {
		j.Sep = &t.Sep
	}
	var err error
	switch {
	case t.Of != nil:
		j.Of, err = json.Marshal(t.Of)
	case t.OneOf != nil:
		j.Of, err = json.Marshal(t.OneOf)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a Type; "of" is a type, or a list of types for
// either and oneOf.
func (t *Type) UnmarshalJSON(b []byte) error {
	var j typeJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*t = Type{Kind: j.Kind, Pattern: j.Pattern, Min: j.Min, Max: j.Max, Freeform: j.Freeform, Tree: j.Tree}
	if j.Sep != nil {
		t.Sep = *j.Sep
	}
	for _, v := range j.Values {
		t.Values = append(t.Values, normNumber(v))
	}
	if of := bytes.TrimSpace(j.Of); len(of) > 0 {
		if of[0] == '[' {
			if err := json.Unmarshal(of, &t.OneOf); err != nil {
				return err
			}
		} else if err := json.Unmarshal(of, &t.Of); err != nil {
			return err
		}
	}
	return nil
}

// normNumber turns a json.Number into an int64 or a float64.
func normNumber(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, _ := n.Float64()
	return f
}

// validate checks that t is well formed and compiles its pattern.
func (t *Type) validate() error {
	if t == nil {
		return fmt.Errorf("missing type")
	}
	arg, ok := kinds[t.Kind]
	if !ok {
		return fmt.Errorf("unknown type kind %q", t.Kind)
	}
	switch arg {
	case "values":
		if len(t.Values) == 0 {
			return fmt.Errorf("enum without values")
		}
	case "of":
		if t.Of == nil {
			return fmt.Errorf("%s without of", t.Kind)
		}
		return t.Of.validate()
	case "oneOf":
		if len(t.OneOf) < 2 {
			return fmt.Errorf("%s needs at least two types in of", t.Kind)
		}
		for _, o := range t.OneOf {
			if err := o.validate(); err != nil {
				return err
			}
		}
	case "pattern":
		rx, err := regexp.Compile("^(?:" + t.Pattern + ")$")
		if err != nil {
			return fmt.Errorf("strMatching pattern: %v", err)
		}
		t.rx = rx
	case "freeform":
		if t.Freeform != nil {
			return t.Freeform.validate()
		}
	case "tree":
		if t.Tree == "" {
			return fmt.Errorf("module without tree")
		}
	}
	return nil
}

// descends says whether values of t are walked into options of the
// manifest below the option's path (submodules, lists and attribute sets
// of submodules, whole modules) rather than checked as one value.
func (t *Type) descends() bool {
	switch t.Kind {
	case "submodule", "module":
		return true
	case "listOf", "attrsOf", "nullOr", "uniq":
		return t.Of.descends()
	}
	return false
}

// String describes t as nixpkgs' options.json does, roughly.
func (t *Type) String() string {
	switch t.Kind {
	case "enum":
		var vs []string
		for _, v := range t.Values {
			b, _ := json.Marshal(v)
			vs = append(vs, string(b))
		}
		return "one of " + strings.Join(vs, ", ")
	case "listOf":
		return "list of (" + t.Of.String() + ")"
	case "attrsOf":
		return "attribute set of (" + t.Of.String() + ")"
	case "nullOr":
		return "null or (" + t.Of.String() + ")"
	case "uniq":
		return t.Of.String()
	case "either", "oneOf":
		var s []string
		for _, o := range t.OneOf {
			s = append(s, "("+o.String()+")")
		}
		return strings.Join(s, " or ")
	case "strMatching":
		return "string matching the pattern " + t.Pattern
	case "ints.between", "ints.unsigned", "ints.positive":
		lo, hi := "", ""
		if t.Min != nil {
			lo = fmt.Sprint(*t.Min)
		}
		if t.Max != nil {
			hi = fmt.Sprint(*t.Max)
		}
		switch {
		case lo != "" && hi != "":
			return "integer between " + lo + " and " + hi + " (both inclusive)"
		case lo != "":
			return "integer of at least " + lo
		}
		return "integer"
	case "port":
		return "16 bit unsigned integer; between 0 and 65535 (both inclusive)"
	case "str":
		return "string"
	case "lines":
		return "strings concatenated with \"\\n\""
	case "separatedString":
		return fmt.Sprintf("strings concatenated with %q", t.Sep)
	case "bool":
		return "boolean"
	case "int":
		return "signed integer"
	case "float":
		return "floating point number"
	case "number":
		return "signed integer or floating point number"
	case "path":
		return "absolute path"
	case "submodule":
		return "submodule"
	case "module":
		return "module of " + t.Tree
	case "attrs":
		return "attribute set"
	case "nonEmptyStr":
		return "non-empty string"
	case "singleLineStr":
		return "(optionally newline-terminated) single-line string"
	}
	return t.Kind
}
