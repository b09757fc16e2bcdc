{ nixpkgs }:
{
  a = import nixpkgs { }; # want "nixpkgs imported without config and overlays"
  b = import nixpkgs { system = "x86_64-linux"; config.allowUnfree = true; }; # want "without overlays"
  c = import nixpkgs { config = { }; overlays = [ ]; };
  d = import ./x.nix { };
}
