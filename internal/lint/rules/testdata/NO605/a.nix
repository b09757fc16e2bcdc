{ pkgs, ... }:
{
  system.activationScripts.x = "nix-env -iA nixos.hello"; # want "`nix-env -iA` installs imperatively"
  y = pkgs.writeShellScript "y" ''nix profile install nixpkgs#jq; nix-env -q''; # want "`nix profile install` installs"
}
