{ config, lib, pkgs, ... }:
let
  t = lib.types;
  cfg = config.services.openssh;
in
{
  imports = [
    (lib.mkRenamedOptionModule [ "services" "openssh" "permitRootLogin" ] [ "services" "openssh" "settings" "PermitRootLogin" ])
    (lib.mkRemovedOptionModule [ "services" "openssh" "challengeResponseAuthentication" ] "Use services.openssh.settings.KbdInteractiveAuthentication instead.")
  ];
  options.services.openssh = {
    enable = lib.mkEnableOption "the OpenSSH secure shell daemon";
    openFirewall = lib.mkOption { type = t.bool; default = true; description = "Whether to open the ports in the firewall."; };
    ports = lib.mkOption { type = t.listOf t.port; default = [ 22 ]; description = "The ports sshd listens on."; };
    settings = lib.mkOption {
      type = t.submodule {
        freeformType = t.attrsOf (t.nullOr (t.oneOf [ t.bool t.int t.str (t.listOf t.str) ]));
        options = {
          PermitRootLogin = lib.mkOption {
            type = t.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ];
            default = "prohibit-password";
            description = "Whether root may log in.";
          };
          PasswordAuthentication = lib.mkOption { type = t.bool; default = true; description = "Whether passwords are accepted."; };
          KbdInteractiveAuthentication = lib.mkOption { type = t.bool; default = true; description = "Whether keyboard-interactive authentication is accepted."; };
          X11Forwarding = lib.mkOption { type = t.bool; default = false; description = "Whether X11 forwarding is allowed."; };
          AllowUsers = lib.mkOption { type = t.nullOr (t.listOf t.str); default = null; description = "The only users who may log in."; };
        };
      };
      default = { };
      description = "sshd_config settings.";
    };
  };
  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ pkgs.openssh ];
    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall cfg.ports;
    systemd.services.sshd = {
      description = "SSH daemon";
      wantedBy = [ "multi-user.target" ];
      serviceConfig.ExecStart = "${pkgs.openssh}/bin/sshd";
    };
  };
}
