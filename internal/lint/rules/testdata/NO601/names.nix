{ lib, ... }:
{
  users.users.guest.initialPassword = "changeme"; # want "use users.users.<name>.hashedPasswordFile"
  services.k3s.token = "K10abcdef"; # want "use services.k3s.tokenFile"
  systemd.services.app.environment.API_TOKEN = "tok-123456"; # want "use systemd.services.<name>.serviceConfig.EnvironmentFile"
  systemd.services.app.environment.LOG_LEVEL = "debug-all";
  services.nzbget.settings.ControlPassword = "hunter22"; # want "read it from a file at run time instead"
  workspaces."1password" = "special:magic";
  styles.unknown-token = "fg=#cc241d";
  format-icons.secret = "<span>s</span>";
  options.x = lib.mkOption { example = { GEMINI_API_KEY = "your-api-key"; }; };
  users.users.a.hashedPassword = "$6$abcdefgh";
  services.foo.passwordFile = "/run/agenix/foo";
}
