{ config, ... }:
{
  networking.hostName = "h";
  system.stateVersion = "24.11"; # want "without automatic garbage collection"
}
