/* The same machine as flat.nix, fully nested, with lib in scope. */
{ config, lib, modulesPath, inputs, ... }:
with lib;
{
  imports = [
    "${modulesPath}/installer/scan/not-detected.nix"
    inputs.nixos-hardware.nixosModules.common-cpu-amd
    inputs.nixos-hardware.nixosModules.common-pc-ssd
  ];
  boot = {
    initrd = {
      availableKernelModules = mkDefault [
        "xhci_pci"
        "usbhid"
        "usb_storage"
        "sd_mod"
        "nvme"
        "ahci"
      ];
      kernelModules = [ ("amdgpu") ];
    };
    kernelModules = [ "kvm-amd" ];
  };
  fileSystems = {
    "/mnt/data" = mkDefault {
      device = "/dev/disk/by-uuid/6c1a9e01-3f1c-4c52-8a4e-4d559b0e2d7f";
      fsType = "ext4";
      options = [ "exec" "nofail" "users" ];
    };
    "/mnt/games" = {
      device = "/dev/disk/by-uuid/9b0e2d7f-6c1a-4e01-8a4e-3f1c0c524d55";
      fsType = "ext4";
      options = [ "users" "nofail" "exec" ];
    };
    "/boot" = {
      fsType = "vfat";
      device = "/dev/disk/by-uuid/6201-0001";
      options = [ "fmask=0077" "dmask=0077" ];
    };
    "/" = {
      fsType = "ext4";
      device = "/dev/disk/by-uuid/3f1c0c52-8a4e-4d55-9b0e-2d7f6c1a9e01";
    };
  };
  networking = {
    useDHCP = mkDefault true;
  };
  nixpkgs = {
    hostPlatform = mkDefault "x86_64-linux";
  };
  hardware = {
    cpu = {
      amd = {
        updateMicrocode = mkDefault config.hardware.enableRedistributableFirmware;
      };
    };
  };
}
