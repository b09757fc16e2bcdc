{ lib, ... }:
{
  nixpkgs.hostPlatform = lib.mkDefault "riscv64-linux";
}
