{ lib, ... }:
let
  t = lib.types;
  # A unit option: lists of several definitions concatenate, anything
  # else must agree.
  unitOption = t.mkOptionType {
    name = "systemd option";
    check = x: true;
    merge = loc: defs:
      if builtins.any (d: builtins.isList d.value) defs
      then builtins.concatMap (d: lib.toList d.value) defs
      else lib.mergeEqualOption loc defs;
  };
  service = t.submodule {
    options = {
      description = lib.mkOption { type = t.str; default = ""; description = "The unit's description."; };
      wantedBy = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Units that want this one."; };
      after = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Units this one starts after."; };
      environment = lib.mkOption { type = t.attrsOf t.str; default = { }; description = "Environment variables."; };
      path = lib.mkOption { type = t.listOf t.package; default = [ ]; description = "Packages on the service's PATH."; };
      script = lib.mkOption { type = t.lines; default = ""; description = "The service's shell commands."; };
      preStart = lib.mkOption { type = t.lines; default = ""; description = "Shell commands run before the service."; };
      serviceConfig = lib.mkOption { type = t.attrsOf unitOption; default = { }; description = "The [Service] section."; };
    };
  };
in
{
  options.systemd.services = lib.mkOption {
    type = t.attrsOf service;
    default = { };
    description = "systemd services.";
  };
}
