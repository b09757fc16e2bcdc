# A self-contained fixture flake for the build and deploy driver's tests.
# No nixpkgs: each host's "toplevel" is a tiny derivation built by /bin/sh
# (so it needs sandbox = false) holding a bin/switch-to-configuration that
# records what it was asked to do under $FLEET_TEST_ROOT instead of changing
# the machine, and, as a NixOS toplevel does, a kernel, an initrd,
# packages in its closure and systemd units under etc/systemd/system.
#
# settings.json next to this file (written by the tests) chooses:
#   generation  a label baked into every toplevel, so "v1" and "v2" differ
#   broken      host names whose build fails
#   system      the Nix system type (default x86_64-linux)
#   kernel      the kernel version (its own derivation, as in NixOS)
#   packages    package name -> "version" or "version:KiB" in the closure
#   units       unit name -> unit file text
#   hosts       host name -> any of kernel, packages, units for that host
{
  outputs = { self }:
    let
      settings = {
        generation = "v1";
        broken = [ ];
        system = "x86_64-linux";
        extraHosts = 50;
        kernel = "6.12.1";
        packages = { };
        units = { };
        hosts = { };
      } // (if builtins.pathExists ./settings.json
            then builtins.fromJSON (builtins.readFile ./settings.json)
            else { });

      # A derivation holding one file, $out/<file>, with text in it.
      mkFile = name: file: text: builtins.derivation {
        inherit name text file;
        system = settings.system;
        builder = "/bin/sh";
        args = [ "-c" "/bin/mkdir -p $out && echo \"$text\" > \"$out/$file\"" ];
      };

      # A package "name-version", padded to KiB kibibytes when given.
      mkPackage = name: spec:
        let
          m = builtins.match "([^:]*)(:([0-9]+))?" spec;
          version = builtins.elemAt m 0;
          kib = if builtins.elemAt m 2 == null then "0" else builtins.elemAt m 2;
        in
        builtins.derivation {
          name = "${name}-${version}";
          inherit kib;
          system = settings.system;
          builder = "/bin/sh";
          args = [ "-c" "/bin/mkdir -p $out && /bin/dd if=/dev/zero of=$out/data bs=1024 count=$kib status=none" ];
        };

      mkUnit = name: text: builtins.derivation {
        name = "unit-${name}";
        inherit text;
        system = settings.system;
        builder = "/bin/sh";
        args = [ "-c" "echo \"$text\" > $out" ];
      };

      mkSystem = name:
        let
          s = settings // (settings.hosts.${name} or { });
        in
        builtins.derivation {
          name = "nixos-system-${name}-${settings.generation}";
          system = settings.system;
          builder = "/bin/sh";
          args = [ "-c" (builtins.readFile ./build.sh) ];
          hostName = name;
          generation = settings.generation;
          broken = if builtins.elem name settings.broken then "1" else "";
          activate = ./switch-to-configuration.sh;
          kernel = mkFile "linux-${s.kernel}" "bzImage" s.kernel;
          initrd = mkFile "initrd-linux-${s.kernel}" "initrd" s.kernel;
          packages = builtins.attrValues (builtins.mapAttrs mkPackage s.packages);
          units = builtins.attrValues (builtins.mapAttrs mkUnit s.units);
        };

      named = [ "alpha" "beta" "gamma" "delta" "epsilon" ];
      bench = builtins.genList (i: "bench-${toString i}") settings.extraHosts;

      host = name: {
        inherit name;
        value.config.system.build.toplevel = mkSystem name;
      };
    in
    {
      nixosConfigurations = builtins.listToAttrs (map host (named ++ bench));
    };
}
