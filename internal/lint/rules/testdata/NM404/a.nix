{ lib, config, ... }:
{
  config = { a = 1; } // lib.mkIf config.x { b = 2; }; # want "`//` with the result of mkIf"
  environment.systemPackages = [ ] ++ lib.mkIf config.y [ 1 ]; # want `.\+\+. with the result of mkIf`
  z = { } // { };
}
