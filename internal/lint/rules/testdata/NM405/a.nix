{ lib, config, ... }:
{
  services.foo = if config.services.foo.enable then { port = 1; } else { }; # want "infinite recursion"
  services.bar = if config.services.other.enable then { } else { };
}
