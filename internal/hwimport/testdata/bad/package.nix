{ config, lib, pkgs, ... }:
{
  boot.extraModulePackages = [ config.boot.kernelPackages.v4l2loopback ];
}
