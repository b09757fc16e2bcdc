# A miniature nixpkgs written for fleet's tests: a module system with real
# option types, priorities and nixpkgs' wording of its errors, a few dozen
# NixOS options, a toy package set whose packages build with /bin/sh, and
# small home-manager and agenix modules. Nix really evaluates it; it is no
# evidence of what real NixOS accepts.
{
  description = "miniature nixpkgs for fleet's tests";
  outputs = { self }:
    let
      lib = import ./lib;
    in
    {
      lib = lib // { nixosSystem = import ./nixos/lib/eval-config.nix { inherit lib; }; };
      legacyPackages.x86_64-linux = import ./pkgs { system = "x86_64-linux"; };
      nixosModules = {
        home-manager = ./home-manager/nixos.nix;
        agenix = ./agenix/module.nix;
        default = ./agenix/module.nix;
      };
    };
}
