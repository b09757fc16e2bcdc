{ lib, ... }:
{
  inherit (lib) boot;
}
