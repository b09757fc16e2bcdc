{ ... }:
{
  fileSystems."/mnt/data" = { device = "/dev/sdb1"; fsType = "ext4"; };
  fileSystems."/mnt/data/" = { device = "/dev/sdc1"; fsType = "ext4"; };
}
