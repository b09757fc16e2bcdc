{ lib, ... }:
{
  config = lib.mkIf true {
    networking.firewall = { enable = lib.mkDefault false; }; # want "the firewall is disabled"
  };
}
