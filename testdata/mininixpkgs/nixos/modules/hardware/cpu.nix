{ lib, ... }:
let t = lib.types; in
{
  options.hardware = {
    cpu.intel.updateMicrocode = lib.mkOption { type = t.bool; default = false; description = "Whether to update the Intel microcode."; };
    cpu.amd.updateMicrocode = lib.mkOption { type = t.bool; default = false; description = "Whether to update the AMD microcode."; };
    enableRedistributableFirmware = lib.mkOption { type = t.bool; default = false; description = "Whether to install redistributable firmware."; };
    graphics.enable = lib.mkOption { type = t.bool; default = false; description = "Whether to enable graphics drivers."; };
  };
}
