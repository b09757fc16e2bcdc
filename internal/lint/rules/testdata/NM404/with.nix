{ lib, config, ... }:
with lib;
{
  config = mkIf config.a { x = 1; } // { y = 2; }; # want "with the result of mkIf"
}
