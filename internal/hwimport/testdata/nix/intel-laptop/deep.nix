# The same laptop as flat.nix, doubly nested.
{ config, lib, ... }:
{
  boot = {
    initrd = {
      availableKernelModules = [ "xhci_pci" "thunderbolt" "nvme" "usb_storage" "sd_mod" "rtsx_pci_sdmmc" ];
      kernelModules = [ ];
      luks = {
        devices = {
          "luks-5e3c1f7a-0d2b-4c8e-9a61-7f4b2e9d0c13" = {
            device = "/dev/disk/by-uuid/5e3c1f7a-0d2b-4c8e-9a61-7f4b2e9d0c13";
          };
        };
      };
    };
    kernelModules = [ "kvm-intel" ];
    kernelParams = [ "module_blacklist=nouveau,v4l2loopback" "mem_sleep_default=deep" ];
  };
  fileSystems = {
    "/" = { device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000aa"; fsType = "ext4"; };
    "/boot" = { device = "/dev/disk/by-uuid/C0DE-0001"; fsType = "vfat"; options = [ ]; };
    "/extdisk" = { device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000bb"; fsType = "ext4"; options = [ "nofail" ]; };
  };
  swapDevices = lib.mkDefault [ { device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000cc"; priority = 10; } ];
  networking = { useDHCP = lib.mkDefault false; };
  powerManagement = { cpuFreqGovernor = lib.mkDefault "powersave"; };
  nixpkgs = { hostPlatform = "x86_64-linux"; };
  hardware = {
    enableRedistributableFirmware = false;
    keyboard = { zsa = { enable = true; }; };
    cpu = { intel = { updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware; }; };
  };
}
