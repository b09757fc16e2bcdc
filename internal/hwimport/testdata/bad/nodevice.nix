{ ... }:
{
  fileSystems."/".fsType = "ext4";
}
