{ lib, ... }:
{
  networking.firewall.enable = false; # want "the firewall is disabled"
  networking.firewall.allowedTCPPorts = [ 22 ];
}
