{ config, ... }:
{
  services.nzbget.settings.ControlPassword = "hunter22"; # want "literal secret in `ControlPassword`"
  services.n8n.environment.N8N_JWT_SECRET = "abcdefgh"; # want "literal secret"
  a = builtins.readFile ./secrets/api.key; # want "readFile of ./secrets/api.key"
  b = builtins.readFile config.age.secrets.x.path; # want "readFile of config.age.secrets.x.path"
  c = "${./id_ed25519}"; # want "interpolating the path ./id_ed25519"
  age.secrets.x.file = ../secrets/x.age;
  services.foo.passwordFile = config.age.secrets.x.path;
  users.users.a.hashedPassword = "$6$xyz";
  services.foo.tokenFile = "/run/agenix/t";
  services.grafana.settings.security.admin_password = "$__file{/run/agenix/g}";
}
