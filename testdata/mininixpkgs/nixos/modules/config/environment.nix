{ lib, ... }:
let t = lib.types; in
{
  options.environment = {
    systemPackages = lib.mkOption { type = t.listOf t.package; default = [ ]; description = "Packages installed system-wide."; };
    etc = lib.mkOption {
      type = t.attrsOf (t.submodule {
        options.text = lib.mkOption { type = t.nullOr t.lines; default = null; description = "The file's content."; };
      });
      default = { };
      description = "Files in /etc.";
    };
  };
}
