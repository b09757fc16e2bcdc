# agenix's NixOS module, in miniature: the declarations of age.secrets.
{ lib, ... }:
let
  t = lib.types;
  secret = t.submodule ({ name, ... }: {
    options = {
      name = lib.mkOption { type = t.str; default = name; description = "The secret's name."; };
      file = lib.mkOption { type = t.path; description = "The encrypted file."; };
      path = lib.mkOption { type = t.str; default = "/run/agenix/${name}"; description = "Where the decrypted file appears."; };
      mode = lib.mkOption { type = t.str; default = "0400"; description = "The decrypted file's mode."; };
      owner = lib.mkOption { type = t.str; default = "0"; description = "The decrypted file's owner."; };
      group = lib.mkOption { type = t.str; default = "0"; description = "The decrypted file's group."; };
    };
  });
in
{
  options.age.secrets = lib.mkOption { type = t.attrsOf secret; default = { }; description = "Secrets decrypted at activation."; };
}
