package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is what decodeValue must agree with: encoding/json's Decoder
// with UseNumber, reading one value.
func stdDecode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// checkDecodeValue fails when decodeValue takes b and gives another value
// than encoding/json.
func checkDecodeValue(t *testing.T, b []byte) bool {
	t.Helper()
	got, ok := decodeValue(b)
	if !ok {
		return false
	}
	want, err := stdDecode(b)
	if err != nil {
		t.Fatalf("decodeValue took %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeValue(%q) = %#v, encoding/json gives %#v", b, got, want)
	}
	checkDecodeFields(t, b)
	return true
}

// checkDecodeFields fails when decodeFields takes b and gives other
// fields than encoding/json decodes.
func checkDecodeFields(t *testing.T, b []byte) bool {
	t.Helper()
	names := []string{"a", "nixos", "users", "deploy"}
	got, ok := decodeFields(b, names...)
	if !ok {
		return false
	}
	v, err := stdDecode(b)
	all, isMap := v.(map[string]any)
	if err != nil || !isMap {
		t.Fatalf("decodeFields took %q, which encoding/json decodes as %#v, %v", b, v, err)
	}
	want := map[string]any{}
	for _, n := range names {
		if x, ok := all[n]; ok {
			want[n] = x
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeFields(%q) = %#v, encoding/json gives %#v", b, got, want)
	}
	return true
}

var decodeValueCases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `12`, `-3.25e+10`, `1E5`, `0.5`, `""`, `"plain"`,
	` { "a" : [ 1 , 2.0 , "x" , null , true , { } , [ ] ] , "b" : { "c" : "d" } } `,
	`{"a": 1, "a": 2}`, `{"q": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00"}`, `"héllo"`, "\"bad\xffutf8\"",
	`{"k\u0041y": "v"}`, `{"a": {"b": [1, "x"]}, "skip": {"c": [true, null, -1.5e3, "\u00e9"]}, "nixos": {}}`, `{"$pkg": "python3Packages.requests"}`,
	// Not plain JSON, or not one value: left to encoding/json.
	``, ` `, `{`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"open`, "\"ctl\x01\"",
	`{"a" 1}`, `{1: 2}`, `[1 2]`, `{} {}`, `{}x`, `NaN`,
}

// TestDecodeValue checks decodeValue against encoding/json: on the JSON
// of the reference fleet's hosts, which it must take whole, and on
// values at the edges of JSON, which it takes only when it decodes them
// the same.
func TestDecodeValue(t *testing.T) {
	for _, c := range decodeValueCases {
		checkDecodeValue(t, []byte(c))
	}
	deep := strings.Repeat("[", maxJSONDepth+5) + strings.Repeat("]", maxJSONDepth+5)
	if _, ok := decodeValue([]byte(deep)); ok {
		t.Errorf("decodeValue took a value nested %d deep", maxJSONDepth+5)
	}
	f, err := Load(context.Background(), &Config{Dir: referenceFleet, NixOS: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hosts() {
		docs := [][]byte{h.h.JSON, h.h.NixOS, h.h.Derived, h.h.Fragments, h.h.Facts}
		for _, b := range h.h.Home {
			docs = append(docs, b)
		}
		if !checkDecodeFields(t, h.h.JSON) {
			t.Errorf("decodeFields left the value of host %s to encoding/json", h.Name)
		}
		for _, b := range docs {
			if len(b) > 0 && !checkDecodeValue(t, b) {
				t.Errorf("decodeValue left a JSON value of host %s to encoding/json: %.80s", h.Name, b)
			}
		}
	}
}

// FuzzDecodeValue checks that whatever decodeValue and decodeFields
// take, they decode as encoding/json does.
func FuzzDecodeValue(f *testing.F) {
	for _, c := range decodeValueCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			t.Skip()
		}
		checkDecodeValue(t, b)
		checkDecodeFields(t, b)
	})
}
