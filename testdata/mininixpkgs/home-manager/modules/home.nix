{ config, options, lib, pkgs, osConfig, ... }:
let
  t = lib.types;
  projection = import ../../nixos/lib/projection.nix { inherit lib; };
  system = osConfig.nixpkgs.hostPlatform;
in
{
  options.home = {
    username = lib.mkOption { type = t.str; description = "The user's name."; };
    homeDirectory = lib.mkOption { type = t.str; description = "The user's home directory."; };
    stateVersion = lib.mkOption { type = t.enum [ "24.05" "24.11" "25.05" ]; description = "The home-manager release the user's state was first created with."; };
    packages = lib.mkOption { type = t.listOf t.package; default = [ ]; description = "Packages in the user's profile."; };
    path = lib.mkOption { type = t.package; internal = true; description = "The user's profile."; };
    activationPackage = lib.mkOption { type = t.package; internal = true; description = "The generation that activates the home."; };
  };
  config.home = {
    path = builtins.derivation {
      name = "home-manager-path";
      inherit system;
      builder = "/bin/sh";
      args = [ "-c" "echo \"$packages\" > $out" ];
      packages = map toString config.home.packages;
    };
    activationPackage = builtins.derivation {
      name = "home-manager-generation";
      inherit system;
      builder = "/bin/sh";
      args = [ "-c" "printf '%s' \"$configuration\" > $out" ];
      configuration = builtins.toJSON (projection options);
      profile = toString config.home.path;
    };
  };
}
