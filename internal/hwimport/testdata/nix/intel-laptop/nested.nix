# The same laptop as flat.nix, in the nested spelling people often use.
{ config, lib, pkgs, modulesPath, ... }:
{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];

  boot = {
    initrd.availableKernelModules = [ "nvme" "rtsx_pci_sdmmc" "sd_mod" "thunderbolt" "usb_storage" "xhci_pci" ];
    initrd.luks.devices."luks-5e3c1f7a-0d2b-4c8e-9a61-7f4b2e9d0c13".device = "/dev/disk/by-uuid/5e3c1f7a-0d2b-4c8e-9a61-7f4b2e9d0c13";
    kernelModules = [ "kvm-intel" ];
    kernelParams = [
      "mem_sleep_default=deep"
      "module_blacklist=nouveau,v4l2loopback" # the NVIDIA GPU is off
    ];
    extraModulePackages = [ ];
  };

  fileSystems = {
    "/".device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000aa";
    "/".fsType = "ext4";
    "/extdisk" = { device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000bb"; fsType = "ext4"; options = [ "nofail" ]; };
    "/boot" = { device = "/dev/disk/by-uuid/C0DE-0001"; fsType = "vfat"; };
  };

  swapDevices = [
    {
      priority = 10;
      device = "/dev/disk/by-uuid/a1b2c3d4-0000-4000-8000-0000000000cc";
    }
  ];

  networking.useDHCP = lib.mkDefault false;
  powerManagement.cpuFreqGovernor = lib.mkDefault "powersave";
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
  hardware = {
    keyboard.zsa.enable = true;
    enableRedistributableFirmware = false;
    cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
  };
}
