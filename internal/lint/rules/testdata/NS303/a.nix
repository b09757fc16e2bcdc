{ config, lib, pkgs, ... }: # want "unused formal argument `pkgs`"
{
  x = lib.mkIf config.y { };
}
