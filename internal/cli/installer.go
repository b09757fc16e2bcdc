package cli

import (
	"fmt"

	"fleetnix.dev/fleet/fleet"
)

const installerArgs = "HOST [--flake REF]"

func init() {
	register(&command{name: "installer", args: installerArgs, short: "build a host's live installer ISO: SSH by admin keys, install-<host> partitions per its disk layout", run: runInstaller})
}

// runInstaller builds the live installer of one host and prints the result
// table, then the image's path, on standard output; progress goes to
// standard error. A failed build exits 1.
func runInstaller(e *env, args []string) int {
	fs := e.flags("installer", installerArgs)
	flake := fs.String("flake", "", "take the installer from nixosConfigurations.<host>-installer.config.system.build.isoImage of flake `REF` instead of the generated flake (which is then not regenerated)")
	hosts, ok := parse(fs, args)
	if !ok {
		return exitUsage
	}
	if len(hosts) != 1 {
		return e.usageErr("installer", "want exactly one host, got %d", len(hosts))
	}
	f, code := e.loadForDriver()
	if f == nil {
		return code
	}
	r, err := f.BuildInstaller(e.ctx, hosts[0], fleet.InstallerOptions{Flake: *flake, Progress: e.stderr})
	if err != nil {
		return e.report(err)
	}
	fleet.WriteSummary(e.stdout, []fleet.HostResult{r.HostResult})
	e.interrupted("installer")
	if !r.Status.OK() {
		return exitFail
	}
	if r.Image != "" {
		fmt.Fprintf(e.stdout, "image: %s\n", r.Image)
	}
	return exitOK
}
