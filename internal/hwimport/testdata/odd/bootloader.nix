# A configuration.nix's boot loader lines, the way the installer's template
# writes them for a BIOS machine, plus EFI settings.
{ lib, ... }:
{
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";
  boot.loader.grub.devices = [ "/dev/disk/by-id/ata-SECOND" ];
  boot.loader.grub.efiSupport = lib.mkDefault false;
  boot.loader.efi = {
    canTouchEfiVariables = false;
    efiSysMountPoint = "/boot/efi";
  };
  fileSystems."/" = { device = "/dev/sda2"; fsType = "ext4"; };
}
