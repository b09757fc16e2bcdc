package fleet

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"fleetnix.dev/fleet/internal/build"
	"fleetnix.dev/fleet/internal/model"
)

// InstallerOptions control BuildInstaller. The zero value builds the
// installer of the generated flake, regenerated first when stale, with no
// progress reporting.
type InstallerOptions struct {
	// Flake, when set, is the flake reference the installer is taken
	// from instead of the generated flake, at the same attribute
	// nixosConfigurations."<host>-installer".config.system.build.isoImage;
	// the fleet is then not regenerated. File paths are taken as
	// DriverOptions.Flake takes them.
	Flake string
	// NixArgs are extra arguments for every nix command, as in
	// DriverOptions.
	NixArgs []string
	// Progress, when not nil, receives progress for a person, as in
	// DriverOptions.
	Progress io.Writer
	// Events, when not nil, receives every progress event, one call at a
	// time.
	Events func(Event)
}

// An InstallerResult is the outcome of BuildInstaller: the build's
// result for the host, and the image it made.
type InstallerResult struct {
	HostResult
	// Image is the ISO image file in the built store path; empty when the
	// build failed or made no image.
	Image string
}

// installerAttr returns the attribute path, within a flake's outputs, of
// the ISO image of host's live installer:
// nixosConfigurations."<host>-installer".config.system.build.isoImage.
func installerAttr(host string) []string {
	return []string{"nixosConfigurations", host + "-installer", "config", "system", "build", "isoImage"}
}

// BuildInstaller builds the live installer of host, an ISO image that
// boots NixOS, admits SSH logins by the keys of the host's wheel users,
// and carries install-<host>, which partitions the disks by the host's
// layout and installs its system. The host must have a disk layout
// (disks). The image is built on this machine, whatever the host's
// deploy.buildOn says: it is meant for a USB stick here, not for the host.
// Like Build, it regenerates the fleet's Nix tree first when stale unless
// opts.Flake is set (the fleet must then be loaded with Config.NixOS), and
// a failed build is the result's Status and Err; the error is for
// problems before anything was built.
func (f *Fleet) BuildInstaller(ctx context.Context, host string, opts InstallerOptions) (*InstallerResult, error) {
	h := f.byName[host]
	if h == nil {
		_, err := f.Select(host)
		return nil, err
	}
	if h.layout == nil {
		return nil, fmt.Errorf("host %s has no disk layout (disks): an installer would not know how to partition it", host)
	}
	do := DriverOptions{Hosts: []string{host}, Jobs: 1, Flake: opts.Flake, NixArgs: opts.NixArgs,
		Progress: opts.Progress, Events: opts.Events}
	_, hosts, err := f.driverHosts(&do, nil)
	if err != nil {
		return nil, err
	}
	if err := f.checkTracked(ctx, &do); err != nil {
		return nil, err
	}
	mh := hosts[0]
	mh.Toplevel.Attr = installerAttr(host)
	mh.Build = model.BuildPlacement{Where: model.BuildLocal}
	bo, done := driverOptions(&do, hosts)
	rs := build.Build(ctx, hosts, bo)
	done()
	res := &InstallerResult{HostResult: hostResult(rs[0])}
	if res.Status.OK() {
		isos, _ := filepath.Glob(filepath.Join(res.StorePath, "iso", "*.iso"))
		if len(isos) > 0 {
			res.Image = isos[0]
		}
	}
	return res, nil
}
