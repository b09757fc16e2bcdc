{ lib, ... }:
{
  options = {
    assertions = lib.mkOption { type = lib.types.listOf lib.types.unspecified; internal = true; default = [ ]; description = "Conditions that must hold."; };
    warnings = lib.mkOption { type = lib.types.listOf lib.types.str; internal = true; default = [ ]; description = "Messages printed on evaluation."; };
  };
}
