# Readable, but with parts that are not hardware facts.
{ config, lib, modulesPath, ... }:
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];
  boot.initrd.availableKernelModules = [ "virtio_pci" "virtio_blk" "virtio_pci" ];
  fileSystems."/" = { device = "/dev/vda1"; fsType = "ext4"; neededForBoot = true; };
  services.qemuGuest.enable = lib.mkDefault true;
}
