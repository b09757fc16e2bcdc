{ lib, ... }:
let
  uuid = "3f1c0c52-8a4e-4d55-9b0e-2d7f6c1a9e01";
in
{
  fileSystems."/".device = "/dev/disk/by-uuid/${uuid}";
}
