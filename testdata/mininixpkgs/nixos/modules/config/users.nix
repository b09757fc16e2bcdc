{ config, lib, ... }:
let
  t = lib.types;
  user = t.submodule ({ name, config, ... }: {
    options = {
      name = lib.mkOption { type = t.str; default = name; description = "The account name."; };
      description = lib.mkOption { type = t.str; default = ""; description = "The user's full name."; };
      uid = lib.mkOption { type = t.nullOr t.int; default = null; description = "The account's uid."; };
      isNormalUser = lib.mkOption { type = t.bool; default = false; description = "Whether this is a real user."; };
      isSystemUser = lib.mkOption { type = t.bool; default = false; description = "Whether this is a system user."; };
      group = lib.mkOption { type = t.str; default = ""; description = "The primary group."; };
      extraGroups = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Supplementary groups."; };
      home = lib.mkOption { type = t.str; default = "/var/empty"; description = "The home directory."; };
      shell = lib.mkOption { type = t.nullOr (t.either t.package t.path); default = null; description = "The login shell."; };
      packages = lib.mkOption { type = t.listOf t.package; default = [ ]; description = "Packages in the user's profile."; };
      hashedPasswordFile = lib.mkOption { type = t.nullOr t.str; default = null; description = "A file holding the password hash."; };
      openssh.authorizedKeys.keys = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Public keys that may log in."; };
    };
    config = lib.mkIf config.isNormalUser {
      home = lib.mkDefault "/home/${name}";
      group = lib.mkDefault "users";
    };
  });
in
{
  options.users.users = lib.mkOption { type = t.attrsOf user; default = { }; description = "User accounts."; };
  options.users.mutableUsers = lib.mkOption { type = t.bool; default = true; description = "Whether accounts may be changed outside the configuration."; };
  config.assertions = lib.mapAttrsToList
    (name: u: {
      assertion = u.isNormalUser != u.isSystemUser;
      message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
    })
    config.users.users;
}
