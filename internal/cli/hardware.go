package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"fleetnix.dev/fleet/fleet"
)

const importHardwareArgs = "[FILE] [--facter REPORT] [--host H [-o CUEFILE]]"

func init() {
	register(&command{
		name:  "import hardware",
		args:  importHardwareArgs,
		short: "turn a hardware-configuration.nix and/or a nixos-facter report into the host's CUE hardware value",
		long: `With --host H, the output is a CUE file of its own, in the fleet's package
(that of the CUE files here; "fleet" when there are none): hosts: H: {...}
with the host's system, hardware and the settings it carries over under
nixos. Without --host it is the host's fields, to paste into a host.

-o CUEFILE writes the host into CUEFILE instead of standard output: a new
file, or merged into the one there. The merge adds a host the file does
not declare; for a host it declares, the import's system and hardware
replace the host's (hardware-configuration.nix describes the whole
machine) and its network and nixos values replace those at the same
paths; all else stays. A host the file declares twice, or not as a struct
written out, is an error and the file is left as it was. What the merge
replaced is said, at the place it was.

Either way fleetgen warns when no other file declares the host (a typo
would make a new host) and when other files set its hardware too.`,
		run: runImportHardware,
	})
}

// runImportHardware prints the CUE value of the hardware facts in FILE (a
// hardware-configuration.nix) and REPORT (a nixos-facter report) on
// standard output, or writes them into a CUE file. Warnings about parts
// that are not hardware facts go to standard error and leave the exit
// status 0; errors write nothing and exit 1.
func runImportHardware(e *env, args []string) int {
	flags := e.flags("import hardware", importHardwareArgs)
	host := flags.String("host", "", "the host `H` the facts are of: write a whole CUE file, hosts: H: { ... }")
	facter := flags.String("facter", "", "read the nixos-facter `REPORT` (JSON) as well, or instead")
	into := flags.String("o", "", "write the host into `CUEFILE`, merging it into the file when there is one (needs --host)")
	files, ok := parse(flags, args)
	if !ok {
		return e.parseFailed()
	}
	if len(files) > 1 {
		return e.usageErr("import hardware", "one hardware configuration at a time, got %d", len(files))
	}
	if len(files) == 0 && *facter == "" {
		return e.usageErr("import hardware", "no hardware configuration or --facter report given")
	}
	if *into != "" && *host == "" {
		return e.usageErr("import hardware", "-o needs --host: a CUE file holds a host by name")
	}
	in := fleet.HardwareInput{Host: *host}
	var scan *fleet.HostScan
	if *host != "" {
		dir := e.cwd
		if *into != "" {
			dir = filepath.Dir(*into)
		}
		s, err := fleet.ScanHosts(dir)
		if err != nil {
			return e.report(err)
		}
		scan, in.Package = s, s.Package
	}
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
	notes := res.Warnings
	if scan != nil {
		notes = append(notes, scan.Placement(*host, *into)...)
	}
	if *into == "" {
		e.printNotes(notes)
		if *host == "" {
			fmt.Fprintf(e.stderr, "fleetgen import hardware: without --host this is a host's fields, to paste into hosts: <name>: {...}; --host NAME writes a CUE file of its own\n")
		}
		e.stdout.Write(res.CUE)
		return exitOK
	}
	m, err := res.WriteInto(*into)
	if err != nil {
		e.printNotes(notes)
		return e.report(err)
	}
	e.printNotes(append(notes, m.Notes...))
	return exitOK
}

// printNotes prints warnings and notes that leave the exit status as it
// is.
func (e *env) printNotes(ds []fleet.Diagnostic) {
	if len(ds) > 0 {
		e.printErrors(e.stderr, fleet.Errors(ds))
	}
}
