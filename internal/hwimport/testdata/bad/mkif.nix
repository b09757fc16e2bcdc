{ config, lib, ... }:
{
  boot.kernelModules = lib.mkIf config.virtualisation.enable [ "kvm-amd" ];
}
