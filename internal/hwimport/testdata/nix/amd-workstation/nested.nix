# The same machine as flat.nix, edited by hand: one attribute set per
# top-level option, dotted paths inside.
{ config, lib, pkgs, modulesPath, inputs, ... }:
{
  imports = [
    (modulesPath + "/installer/scan/not-detected.nix")
    inputs.nixos-hardware.nixosModules.common-cpu-amd
    inputs.nixos-hardware.nixosModules.common-pc-ssd
  ];

  boot = {
    initrd.availableKernelModules = [
      "ahci"
      "nvme"
      "sd_mod" # SATA disks
      "usb_storage"
      "usbhid"
      "xhci_pci"
    ];
    initrd.kernelModules = [ "amdgpu" ];
    kernelModules = [ "kvm-amd" ];
    extraModulePackages = [ ];
  };

  fileSystems = {
    "/" = {
      device = "/dev/disk/by-uuid/3f1c0c52-8a4e-4d55-9b0e-2d7f6c1a9e01";
      fsType = "ext4";
    };
    "/boot" = {
      device = "/dev/disk/by-uuid/6201-0001";
      fsType = "vfat";
      options = [ "dmask=0077" "fmask=0077" ];
    };
    "/mnt/games".device = "/dev/disk/by-uuid/9b0e2d7f-6c1a-4e01-8a4e-3f1c0c524d55";
    "/mnt/games".fsType = "ext4";
    "/mnt/games".options = [ "exec" "nofail" "users" ];
    "/mnt/data" = {
      device = "/dev/disk/by-uuid/6c1a9e01-3f1c-4c52-8a4e-4d559b0e2d7f";
      fsType = "ext4";
      options = [ "nofail" "users" "exec" ];
    };
  };

  swapDevices = [ ];

  networking.useDHCP = lib.mkDefault true;
  nixpkgs.hostPlatform = "x86_64-linux";
  hardware.cpu.amd = {
    updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
  };
}
