package fleet

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/encoding/jsonschema"

	iload "fleetnix.dev/fleet/internal/load"
	"fleetnix.dev/fleet/schema"
)

// SchemaImportPath is the CUE import path of the fleet schema. User files
// import it; fleetgen init vendors it at cue.mod/pkg/<SchemaImportPath>.
const SchemaImportPath = iload.SchemaImportPath

// schemaFiles returns the embedded schema files by name.
func schemaFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	ents, err := fs.ReadDir(schema.FS, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		b, err := fs.ReadFile(schema.FS, e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

// SyncSchema writes the embedded schema to the vendored location of the
// CUE module containing dir, replacing what is there, and returns the
// module root. Stray .cue files in that directory are removed.
func SyncSchema(dir string) (string, error) {
	root, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	return root, writeSchema(root)
}

func writeSchema(root string) error {
	files, err := schemaFiles()
	if err != nil {
		return err
	}
	sdir := iload.SchemaDir(root)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(sdir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if _, ok := files[e.Name()]; !ok && strings.HasSuffix(e.Name(), ".cue") {
			if err := os.Remove(filepath.Join(sdir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedNames(files) {
		if err := writeFileAtomic(filepath.Join(sdir, name), files[name]); err != nil {
			return err
		}
	}
	return nil
}

func moduleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "cue.mod", "module.cue")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no CUE module at %s or above (no cue.mod/module.cue); run \"fleetgen init\"", dir)
		}
		d = parent
	}
}

// writeFileAtomic writes b to name through a temporary file and a rename,
// so a reader never sees half a file.
func writeFileAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// compileSchema compiles the embedded schema on its own, in a throwaway
// module, and returns its package value.
func compileSchema() (*cue.Context, cue.Value, error) {
	files, err := schemaFiles()
	if err != nil {
		return nil, cue.Value{}, err
	}
	root := "/fleetnix-schema"
	ov := map[string]load.Source{
		root + "/cue.mod/module.cue": load.FromString("module: \"fleetnix.dev/jsonschema@v0\"\nlanguage: version: \"v0.17.0\"\n"),
	}
	for name, b := range files {
		ov[filepath.Join(iload.SchemaDir(root), name)] = load.FromBytes(b)
	}
	insts := load.Instances([]string{SchemaImportPath}, &load.Config{Dir: root, Overlay: ov})
	if len(insts) != 1 || insts[0].Err != nil {
		return nil, cue.Value{}, fmt.Errorf("loading the schema: %v", insts[0].Err)
	}
	ctx := cuecontext.New()
	v := ctx.BuildInstance(insts[0])
	return ctx, v, v.Err()
}

// JSONSchema returns a JSON Schema (draft 2020-12) of a host's final value,
// as fleetgen export prints it, generated from the CUE schema.
func JSONSchema() ([]byte, error) {
	ctx, v, err := compileSchema()
	if err != nil {
		return nil, err
	}
	def := v.LookupPath(cue.ParsePath(string(iload.HostExportDef)))
	if !def.Exists() {
		return nil, fmt.Errorf("the schema has no %s", iload.HostExportDef)
	}
	expr, err := jsonschema.Generate(def, &jsonschema.GenerateConfig{})
	if err != nil {
		return nil, err
	}
	js := ctx.BuildExpr(expr)
	if err := js.Err(); err != nil {
		return nil, err
	}
	raw, err := js.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	openStructs(doc)
	doc["$id"] = "https://" + SchemaImportPath + "/host.schema.json"
	doc["title"] = "fleet host"
	return marshalSorted(doc)
}

// marshalSorted marshals v indented, with map keys sorted (encoding/json
// sorts map keys), ending in a newline.
func marshalSorted(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// openStructs repairs what jsonschema.Generate makes of an open struct with
// no fields ({...}): a "const": {} that only an empty object satisfies. It
// becomes "type": "object", any properties allowed.
func openStructs(node any) {
	switch n := node.(type) {
	case map[string]any:
		if c, ok := n["const"].(map[string]any); ok && len(c) == 0 {
			delete(n, "const")
			n["type"] = "object"
		}
		for _, v := range n {
			openStructs(v)
		}
	case []any:
		for _, v := range n {
			openStructs(v)
		}
	}
}
