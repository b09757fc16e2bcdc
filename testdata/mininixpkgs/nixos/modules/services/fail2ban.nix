{ config, lib, pkgs, ... }:
let t = lib.types; in
{
  options.services.fail2ban = {
    enable = lib.mkEnableOption "fail2ban";
    bantime = lib.mkOption { type = t.nullOr t.str; default = null; description = "How long a ban lasts."; };
    maxretry = lib.mkOption { type = t.ints.positive; default = 3; description = "Failures before a ban."; };
  };
  config = lib.mkIf config.services.fail2ban.enable {
    environment.systemPackages = [ pkgs.fail2ban ];
  };
}
