# Imitates what fleet's issue 13 describes of the nixpkgs Plex module: it
# sets the service's sandbox itself, so a second ProtectSystem conflicts.
{ config, lib, pkgs, ... }:
let
  t = lib.types;
  cfg = config.services.plex;
in
{
  options.services.plex = {
    enable = lib.mkEnableOption "Plex Media Server";
    openFirewall = lib.mkOption { type = t.bool; default = false; description = "Whether to open Plex's ports."; };
    user = lib.mkOption { type = t.str; default = "plex"; description = "The user Plex runs as."; };
  };
  config = lib.mkIf cfg.enable {
    systemd.services.plex = {
      description = "Plex Media Server";
      wantedBy = [ "multi-user.target" ];
      serviceConfig = {
        User = cfg.user;
        ExecStart = "${pkgs.plex}/bin/plexmediaserver";
        ProtectSystem = "full";
      };
    };
    users.users.plex = {
      isSystemUser = true;
      group = "plex";
    };
  };
}
