{ config, ... }:
{
  imports = [ ./gc.nix ];
  system.stateVersion = "24.11";
}
