{ lib, ... }:
{
  options.programs = {
    zsh.enable = lib.mkEnableOption "zsh as a login shell";
    fish.enable = lib.mkEnableOption "fish as a login shell";
    steam.enable = lib.mkEnableOption "Steam";
    direnv.enable = lib.mkEnableOption "direnv";
    direnv.nix-direnv.enable = lib.mkEnableOption "nix-direnv";
  };
}
