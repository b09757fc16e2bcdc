package cli

import (
	"os"

	"fleetnix.dev/fleet/fleet"
)

func init() {
	register(&command{
		name:  "import hardware",
		args:  "[FILE] [--host H] [--facter REPORT]",
		short: "turn a hardware-configuration.nix and/or a nixos-facter report into the host's CUE hardware value",
		run:   runImportHardware,
	})
}

// runImportHardware prints the CUE value of the hardware facts in FILE (a
// hardware-configuration.nix) and REPORT (a nixos-facter report) on
// standard output. Warnings about parts that are not hardware facts go to
// standard error and leave the exit status 0; errors print nothing on
// standard output and exit 1.
func runImportHardware(e *env, args []string) int {
	const synopsis = "[FILE] [--host H] [--facter REPORT]"
	flags := e.flags("import hardware", synopsis)
	host := flags.String("host", "", "wrap the value as hosts: `H`: { ... }")
	facter := flags.String("facter", "", "read the nixos-facter `REPORT` (JSON) as well, or instead")
	files, ok := parse(flags, args)
	if !ok {
		return exitUsage
	}
	if len(files) > 1 {
		return e.usageErr("import hardware", "one hardware configuration at a time, got %d", len(files))
	}
	if len(files) == 0 && *facter == "" {
		return e.usageErr("import hardware", "no hardware configuration or --facter report given")
	}
	in := fleet.HardwareInput{Host: *host}
	if len(files) == 1 {
		src, err := os.ReadFile(files[0])
		if err != nil {
			return e.report(err)
		}
		in.Nix = &fleet.HardwareSource{File: files[0], Src: src}
	}
	if *facter != "" {
		src, err := os.ReadFile(*facter)
		if err != nil {
			return e.report(err)
		}
		in.Facter = &fleet.HardwareSource{File: *facter, Src: src}
	}
	res, err := fleet.ImportHardware(in)
	if err != nil {
		return e.report(err)
	}
	if len(res.Warnings) > 0 {
		fleet.PrintErrors(e.stderr, e.cwd, fleet.Errors(res.Warnings))
	}
	e.stdout.Write(res.CUE)
	return exitOK
}
