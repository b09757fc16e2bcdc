{ ... }:
{
  fileSystems."/windows" = { device = "/dev/nvme0n1p3"; fsType = "ntfs"; };
}
