{ pkgs }:
{
  a = import (pkgs.runCommand "x" { } "echo {} > $out"); # want "import of a derivation"
  b = builtins.readFile "${pkgs.hello}/share/x"; # want "readFile of a derivation"
  c = builtins.readDir pkgs.hello; # want "readDir of a derivation"
  d = import ./x.nix;
  e = builtins.readFile (builtins.fetchurl { url = "https://x"; sha256 = ""; });
}
