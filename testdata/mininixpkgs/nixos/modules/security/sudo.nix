# sudo in miniature: the options fleet writes (a NOPASSWD rule for a
# deploy user other than root) and the sudoers text they make.
{ config, lib, ... }:
let
  t = lib.types;
  cfg = config.security.sudo;
  command = t.submodule {
    options = {
      command = lib.mkOption { type = t.str; description = "The command, or ALL."; };
      options = lib.mkOption {
        type = t.listOf (t.enum [ "NOPASSWD" "PASSWD" "NOEXEC" "EXEC" "SETENV" "NOSETENV" "LOG_INPUT" "NOLOG_INPUT" "LOG_OUTPUT" "NOLOG_OUTPUT" ]);
        default = [ ];
        description = "Options for running the command.";
      };
    };
  };
  rule = t.submodule {
    options = {
      users = lib.mkOption { type = t.listOf (t.either t.str t.int); default = [ ]; description = "Users the rule is for."; };
      groups = lib.mkOption { type = t.listOf (t.either t.str t.int); default = [ ]; description = "Groups the rule is for."; };
      host = lib.mkOption { type = t.str; default = "ALL"; description = "Hosts the rule is for."; };
      runAs = lib.mkOption { type = t.str; default = "ALL:ALL"; description = "Whom the commands run as."; };
      commands = lib.mkOption { type = t.listOf (t.either t.str command); description = "The commands the rule allows."; };
    };
  };
  show = c: if builtins.isString c then c else lib.concatStringsSep "" (map (o: "${o}: ") c.options) + c.command;
in
{
  options.security.sudo = {
    enable = lib.mkOption { type = t.bool; default = true; description = "Whether to enable sudo."; };
    wheelNeedsPassword = lib.mkOption { type = t.bool; default = true; description = "Whether wheel must give a password."; };
    extraRules = lib.mkOption { type = t.listOf rule; default = [ ]; description = "Rules of the sudoers file."; };
    configFile = lib.mkOption { type = t.lines; internal = true; description = "The sudoers file."; };
  };
  config.security.sudo.configFile = lib.concatStringsSep "\n" (lib.concatMap
    (r: map (u: "${toString u} ${r.host}=(${r.runAs}) ${lib.concatMapStringsSep ", " show r.commands}") r.users)
    cfg.extraRules);
}
