{ lib, pkgs, ... }:
with lib; # want "over the whole file"
{
  y = with pkgs; [ hello ]; # want "inside another with"
}
