{ lib, ... }:
{
  systemd.services.exporter = {
    serviceConfig = { ExecStart = "x"; }; # want "service `exporter` runs as root and sets none of"
  };
  systemd.services.root.serviceConfig = { User = "root"; NoNewPrivileges = true; }; # want "service `root` runs as root"
  systemd.services.good.serviceConfig = { DynamicUser = true; ProtectSystem = "strict"; };
  systemd.services.split.serviceConfig = { ExecStart = "y"; };
  systemd.services.split.serviceConfig.User = "split";
  systemd.services.split.serviceConfig.PrivateTmp = true;
}
