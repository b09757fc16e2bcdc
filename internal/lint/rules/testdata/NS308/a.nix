{ lib, pkgs, ... }:
with lib; # want "over the whole file"
{
  options.x = mkOption { type = types.bool; };
  config = mkIf true { };
}
