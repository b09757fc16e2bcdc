{ config, lib, ... }:
{
  options.nixpkgs = {
    hostPlatform = lib.mkOption {
      type = lib.types.str;
      example = "x86_64-linux";
      description = "The platform the system runs on.";
    };
    config = lib.mkOption {
      type = lib.types.attrs;
      default = { };
      description = "The nixpkgs configuration (allowUnfree, ...).";
    };
  };
  config._module.args.pkgs = import ../../../pkgs { system = config.nixpkgs.hostPlatform; };
}
