{ lib, config, ... }:
{
  services.a.enable = lib.mkIf true true; # want "`mkIf true e` is e"
  services.b = lib.mkIf false { enable = true; }; # want "`mkIf false` defines nothing"
  services.c = lib.mkIf config.x { };
}
