{ lib, config, ... }:
{
  options.foo.enable = lib.mkEnableOption "foo";
  config = if config.foo.enable then { services.nginx.enable = true; } else { }; # want "use mkIf"
}
