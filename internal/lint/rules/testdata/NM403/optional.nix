{ lib, config, ... }:
{
  config = lib.optionalAttrs config.foo.enable { x = 1; }; # want "optionalAttrs"
}
