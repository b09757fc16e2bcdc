{ config, lib, ... }:
let
  t = lib.types;
  grub = config.boot.loader.grub;
in
{
  options.boot = {
    isContainer = lib.mkOption { type = t.bool; default = false; description = "Whether this is a NixOS container."; };
    kernelModules = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Kernel modules loaded in the second stage."; };
    kernelParams = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Kernel command line parameters."; };
    initrd.availableKernelModules = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Kernel modules available in the initrd."; };
    initrd.kernelModules = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Kernel modules loaded in the initrd."; };
    loader = {
      grub = {
        enable = lib.mkOption { type = t.bool; default = true; description = "Whether to enable GRUB."; };
        device = lib.mkOption { type = t.str; default = ""; description = "The device GRUB is installed on."; };
        devices = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "The devices GRUB is installed on."; };
        efiSupport = lib.mkOption { type = t.bool; default = false; description = "Whether GRUB is built for EFI."; };
        efiInstallAsRemovable = lib.mkOption { type = t.bool; default = false; description = "Whether GRUB is installed at the removable-media path."; };
        configurationLimit = lib.mkOption { type = t.int; default = 100; description = "How many generations GRUB lists."; };
        mirroredBoots = lib.mkOption {
          type = t.listOf (t.submodule {
            options = {
              path = lib.mkOption { type = t.str; description = "The boot directory of this copy."; };
              devices = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "The devices this copy is installed on."; };
            };
          });
          default = [ ];
          description = "Further copies of the boot directory, each with its devices.";
        };
      };
      systemd-boot = {
        enable = lib.mkEnableOption "the systemd-boot EFI boot manager";
        editor = lib.mkOption { type = t.bool; default = true; description = "Whether the kernel command line may be edited at boot."; };
        configurationLimit = lib.mkOption { type = t.nullOr t.int; default = null; description = "How many generations the menu lists."; };
      };
      efi = {
        canTouchEfiVariables = lib.mkOption { type = t.bool; default = false; description = "Whether the installer may change EFI variables."; };
        efiSysMountPoint = lib.mkOption { type = t.str; default = "/boot"; description = "Where the EFI system partition is mounted."; };
      };
    };
  };
  config = lib.mkMerge [
    (lib.mkIf config.boot.loader.systemd-boot.enable { boot.loader.grub.enable = lib.mkDefault false; })
    (lib.mkIf grub.enable {
      assertions = [{
        assertion = grub.devices != [ ] || grub.device != "" || grub.mirroredBoots != [ ];
        message = "You must set the option ‘boot.loader.grub.devices’ or "
          + "'boot.loader.grub.mirroredBoots' to make the system bootable.";
      }];
    })
  ];
}
