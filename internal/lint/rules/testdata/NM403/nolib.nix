{ config, ... }:
{
  config = if config.foo.enable then { x = 1; } else { }; # want "use mkIf"
}
