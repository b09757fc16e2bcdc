{ lib, ... }:
let t = lib.types; in
{
  options.networking = {
    hostName = lib.mkOption { type = t.str; default = "nixos"; description = "The host's name."; };
    domain = lib.mkOption { type = t.nullOr t.str; default = null; description = "The host's domain."; };
    useDHCP = lib.mkOption { type = t.bool; default = true; description = "Whether to use DHCP on every interface."; };
    networkmanager.enable = lib.mkEnableOption "NetworkManager";
    firewall = {
      enable = lib.mkOption { type = t.bool; default = true; description = "Whether to enable the firewall."; };
      allowedTCPPorts = lib.mkOption { type = t.listOf t.port; default = [ ]; description = "Open TCP ports."; };
      allowedUDPPorts = lib.mkOption { type = t.listOf t.port; default = [ ]; description = "Open UDP ports."; };
      trustedInterfaces = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Interfaces the firewall trusts."; };
    };
  };
}
