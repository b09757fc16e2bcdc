{ config, lib, ... }:
let
  t = lib.types;
  fileSystem = t.submodule ({ name, ... }: {
    options = {
      mountPoint = lib.mkOption { type = t.str; default = name; description = "Where it is mounted."; };
      device = lib.mkOption { type = t.nullOr t.str; default = null; description = "The device mounted."; };
      fsType = lib.mkOption { type = t.str; default = "auto"; description = "The file system type."; };
      options = lib.mkOption { type = t.listOf t.str; default = [ "defaults" ]; description = "Mount options."; };
    };
  });
  swap = t.submodule {
    options = {
      device = lib.mkOption { type = t.str; description = "The swap device or file."; };
      size = lib.mkOption { type = t.nullOr t.int; default = null; description = "Size of a swap file in MiB."; };
    };
  };
in
{
  options = {
    fileSystems = lib.mkOption { type = t.attrsOf fileSystem; default = { }; description = "The file systems mounted at boot."; };
    swapDevices = lib.mkOption { type = t.listOf swap; default = [ ]; description = "Swap devices and files."; };
  };
  config.assertions = [{
    assertion = builtins.any (fs: fs.mountPoint == "/") (builtins.attrValues config.fileSystems);
    message = "The ‘fileSystems’ option does not specify your root file system.";
  }];
}
