# The oracle of hwimport's tests: evaluates a hardware configuration with
# stub module arguments. lib.mkDefault is the identity, and
# config.hardware.enableRedistributableFirmware is what the file itself
# says, or true (fleet's default, and what not-detected.nix sets). The
# imports are left out: they name modules, not values.
{ file }:
let
  result = import (/. + file) {
    lib = { mkDefault = x: x; };
    pkgs = { };
    modulesPath = "/stub/nixos/modules";
    inputs = { };
    config.hardware.enableRedistributableFirmware = result.hardware.enableRedistributableFirmware or true;
  };
in
builtins.removeAttrs result [ "imports" ]
