{ lib, ... }:
let
  t = lib.types;
  simple = [ "bat" "btop" "eza" "fd" "fzf" "neovim" "ripgrep" "starship" "tmux" "yazi" "zellij" "zoxide" ];
in
{
  options.programs = lib.genAttrs simple (p: { enable = lib.mkEnableOption p; }) // {
    git = {
      enable = lib.mkEnableOption "Git";
      userName = lib.mkOption { type = t.nullOr t.str; default = null; description = "The commit author's name."; };
      userEmail = lib.mkOption { type = t.nullOr t.str; default = null; description = "The commit author's address."; };
      extraConfig = lib.mkOption { type = t.attrsOf t.anything; default = { }; description = "More gitconfig settings."; };
    };
    direnv = {
      enable = lib.mkEnableOption "direnv";
      nix-direnv.enable = lib.mkEnableOption "nix-direnv";
    };
  };
}
