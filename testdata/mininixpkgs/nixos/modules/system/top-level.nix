{ config, options, lib, ... }:
let
  projection = import ../../lib/projection.nix { inherit lib; };
  baseSystem = builtins.derivation {
    name = "nixos-system-${config.networking.hostName}-${config.system.stateVersion}";
    system = config.nixpkgs.hostPlatform;
    builder = "/bin/sh";
    args = [ "-c" "printf '%s' \"$configuration\" > $out" ];
    configuration = builtins.toJSON (projection options);
  };
in
{
  options.system = {
    stateVersion = lib.mkOption {
      type = lib.types.str;
      default = "25.05";
      description = "The NixOS release the system's state was first created with.";
    };
    build = lib.mkOption {
      type = lib.types.lazyAttrsOf lib.types.unspecified;
      internal = true;
      default = { };
      description = "Derivations of the system's parts.";
    };
  };
  config.system.build.toplevel = lib.checkAssertWarn config.assertions config.warnings baseSystem;
}
