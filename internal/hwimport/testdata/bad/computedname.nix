{ lib, mount, ... }:
{
  fileSystems.${mount} = { device = "/dev/sda1"; fsType = "ext4"; };
}
