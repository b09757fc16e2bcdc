#!/usr/bin/env bash
# compare-nix.sh times `fleetgen parse` against `nix-instantiate --parse`
# over the same files in one run. With no arguments it generates 50 files
# of 200 host modules each (about 9 MB); otherwise it uses the files given.
#
#	internal/nix/syntax/testdata/compare-nix.sh [FILE.nix...]
set -eu
root=$(cd "$(dirname "$0")/../../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/fleetgen" ./cmd/fleetgen)
if [ $# -eq 0 ]; then
	mkdir "$work/in"
	f=0
	while [ $f -lt 50 ]; do
		out="$work/in/fleet$f.nix"
		{
			echo '{ lib, pkgs, ... }:'
			echo '{'
			i=0
			while [ $i -lt 200 ]; do
				cat <<NIX
  host$i = { config, ... }: {
    networking.hostName = "host$i"; # the name
    networking.firewall.allowedTCPPorts = [ 22 80 443 (9100 + $i) ];
    services.openssh = { enable = true; settings.PasswordAuthentication = false; };
    users.users.alice = { isNormalUser = true; extraGroups = [ "wheel" ]; };
    environment.systemPackages = with pkgs; [ git vim (python3.withPackages (ps: [ ps.requests ])) ];
    systemd.services.app$i.serviceConfig.ExecStart = "\${pkgs.hello}/bin/hello --port \${toString (8000 + $i)}";
    boot.loader.grub.enable = lib.mkDefault ($i > 2 && !config.boot.isContainer);
    fileSystems."/" = { device = "/dev/disk/by-label/root$i"; fsType = "ext4"; };
  };
NIX
				i=$((i + 1))
			done
			echo '}'
		} >"$out"
		f=$((f + 1))
	done
	set -- "$work"/in/*.nix
fi
bytes=$(cat "$@" | wc -c)
echo "$# files, $bytes bytes"
# CPU time (user+sys) is reported besides wall time: it is what the two
# parsers cost, whatever else the machine is doing.
TIMEFORMAT='%R %U %S'
fg=$( { time "$work/fleetgen" parse "$@" >/dev/null; } 2>&1 | tail -1)
nx=$( { time nix-instantiate --parse "$@" >/dev/null; } 2>&1 | tail -1)
awk -v f="$fg" -v x="$nx" -v n="$bytes" 'BEGIN {
	split(f, a, " "); split(x, b, " ")
	printf "fleetgen parse:          wall %.3fs  cpu %.3fs  %.1f MB/s of cpu\n", a[1], a[2] + a[3], n / (a[2] + a[3]) / 1e6
	printf "nix-instantiate --parse: wall %.3fs  cpu %.3fs  %.1f MB/s of cpu\n", b[1], b[2] + b[3], n / (b[2] + b[3]) / 1e6
}'
