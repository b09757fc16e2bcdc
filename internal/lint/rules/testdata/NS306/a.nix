{ lib, pkgs }:
{
  a = with pkgs; [ lib.x ]; # want "`with pkgs;` provides no name"
  b = with pkgs; [ hello ];
  c = let x = 1; in with lib; x; # want "`with lib;` provides no name"
  d = with lib; toString 1; # want "`with lib;` provides no name"
}
