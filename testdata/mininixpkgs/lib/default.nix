# The library of the miniature nixpkgs: helpers, options, types and the
# module system, each file taking the whole lib.
let
  lib = builtins.foldl' (acc: f: acc // import f { inherit lib; }) { } [
    ./base.nix
    ./options.nix
    ./modules.nix
  ] // {
    types = import ./types.nix { inherit lib; };
  };
in
lib
