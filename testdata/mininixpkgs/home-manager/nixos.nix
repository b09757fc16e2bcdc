# home-manager's NixOS module, in miniature: home-manager.users.<name> is
# each user's home configuration, whose assertions and warnings become the
# system's, prefixed with "<name> profile: " as home-manager words them.
{ config, lib, pkgs, ... }:
let
  t = lib.types;
  cfg = config.home-manager;
  home = t.submoduleWith {
    specialArgs = { osConfig = config; };
    modules = [
      ({ name, ... }: {
        imports = import ./modules/module-list.nix;
        config = {
          _module.args.pkgs = lib.mkDefault pkgs;
          home.username = lib.mkDefault name;
          home.homeDirectory = lib.mkDefault "/home/${name}";
        };
      })
    ];
  };
in
{
  options.home-manager = {
    useGlobalPkgs = lib.mkEnableOption "the system's package set in home-manager";
    useUserPackages = lib.mkEnableOption "installing user packages through users.users.<name>.packages";
    users = lib.mkOption {
      type = t.attrsOf home;
      default = { };
      description = "Each user's home-manager configuration.";
    };
  };
  config = lib.mkIf (cfg.users != { }) {
    assertions = lib.flatten (lib.mapAttrsToList
      (user: c: map (a: { inherit (a) assertion; message = "${user} profile: ${a.message}"; }) c.assertions)
      cfg.users);
    warnings = lib.flatten (lib.mapAttrsToList (user: c: map (w: "${user} profile: ${w}") c.warnings) cfg.users);
    users.users = lib.mkIf cfg.useUserPackages (lib.mapAttrs (user: c: { packages = [ c.home.path ]; }) cfg.users);
    systemd.services = lib.mapAttrs'
      (user: c: lib.nameValuePair "home-manager-${user}" {
        description = "Home Manager environment for ${user}";
        wantedBy = [ "multi-user.target" ];
        serviceConfig.ExecStart = "${c.home.activationPackage}/activate";
      })
      cfg.users;
  };
}
