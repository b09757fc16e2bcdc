{ config, lib, ... }:
{
  boot.kernelModules = [ "kvm-amd" ]
  fileSystems."/".fsType = "ext4";
}
