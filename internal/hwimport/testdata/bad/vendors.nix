{ config, lib, ... }:
{
  hardware.cpu.amd.updateMicrocode = true;
  hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
}
