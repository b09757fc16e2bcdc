package fleet_test

import (
	"context"
	"fmt"
	"os"

	"fleetnix.dev/fleet/fleet"
)

// Load a fleet and list its hosts with the template each one uses.
func ExampleLoad() {
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: "testdata/example"})
	if err != nil {
		fleet.PrintErrors(os.Stdout, "", err)
		return
	}
	for _, h := range f.Hosts() {
		fmt.Println(h.Name, h.Template, h.Tags)
	}
	// Output:
	// db server [server]
	// web server [server]
}

// Explain where a host's value came from: web overrides the SSH port its
// template sets.
func ExampleFleet_Explain() {
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: "testdata/example"})
	if err != nil {
		fleet.PrintErrors(os.Stdout, "", err)
		return
	}
	wd, _ := os.Getwd()
	prov, err := f.Explain("web", "deploy.port")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range prov {
		fmt.Printf("%s = %v, set by %s at %s\n", p.Path, p.Value, p.Set.Source, rel(wd, p.Set.Pos))
		for _, o := range p.Overridden {
			fmt.Printf("  overrides %v from %s at %s\n", o.Value, o.Source, rel(wd, o.Pos))
		}
	}
	// Output:
	// deploy.port = 2222, set by host "web" at testdata/example/hosts.cue:8:15
	//   overrides 22 from template "server" at testdata/example/fleet.cue:9:16
}

// Read a host's final value as Go data, schema defaults filled in.
func ExampleHost_Value() {
	f, err := fleet.Load(context.Background(), &fleet.Config{Dir: "testdata/example"})
	if err != nil {
		fleet.PrintErrors(os.Stdout, "", err)
		return
	}
	v, err := f.Host("db").Value()
	if err != nil {
		fmt.Println(err)
		return
	}
	deploy := v["deploy"].(map[string]any)
	fmt.Println(v["name"], v["system"], deploy["targetHost"], deploy["port"])
	// Output:
	// db x86_64-linux db.example.test 22
}

func rel(wd string, p fleet.Position) string {
	p.File = fleet.RelPath(wd, p.File)
	return p.String()
}
