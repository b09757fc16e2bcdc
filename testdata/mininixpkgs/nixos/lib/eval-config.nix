# nixosSystem: the NixOS modules of the miniature nixpkgs plus the
# caller's, evaluated together.
{ lib }:
{ modules, specialArgs ? { }, system ? null }:
lib.evalModules {
  modules = import ../modules/module-list.nix
    ++ lib.optional (system != null) { nixpkgs.hostPlatform = lib.mkDefault system; }
    ++ modules;
  specialArgs = { modulesPath = toString ../modules; } // specialArgs;
}
