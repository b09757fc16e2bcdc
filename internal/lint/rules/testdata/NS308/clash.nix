{ lib, ... }:
with lib.lib; # want "over the whole file"
{
  x = lib;
  y = mkIf;
}
