# A self-contained fixture flake for the build and deploy driver's tests.
# No nixpkgs: each host's "toplevel" is a tiny derivation built by /bin/sh
# (so it needs sandbox = false) holding a bin/switch-to-configuration that
# records what it was asked to do under $FLEET_TEST_ROOT instead of changing
# the machine.
#
# settings.json next to this file (written by the tests) chooses:
#   generation  a label baked into every toplevel, so "v1" and "v2" differ
#   broken      host names whose build fails
#   system      the Nix system type (default x86_64-linux)
{
  outputs = { self }:
    let
      settings = {
        generation = "v1";
        broken = [ ];
        system = "x86_64-linux";
        extraHosts = 50;
      } // (if builtins.pathExists ./settings.json
            then builtins.fromJSON (builtins.readFile ./settings.json)
            else { });

      mkSystem = name: builtins.derivation {
        name = "nixos-system-${name}-${settings.generation}";
        system = settings.system;
        builder = "/bin/sh";
        args = [ "-c" (builtins.readFile ./build.sh) ];
        hostName = name;
        generation = settings.generation;
        broken = if builtins.elem name settings.broken then "1" else "";
        activate = ./switch-to-configuration.sh;
      };

      named = [ "alpha" "beta" "gamma" "delta" ];
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
