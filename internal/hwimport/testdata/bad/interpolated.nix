{ lib, ... }:
{
  fileSystems."/" = {
    device = "/dev/disk/by-uuid/${lib.uuid}";
    fsType = "ext4";
  };
}
