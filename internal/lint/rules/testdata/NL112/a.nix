let
  true = false; # want "`true` rebinds the builtin"
  f = map: map; # want "`map` rebinds the builtin"
in
{ toString = 1; g = { import, ... }: import; } # want "`import` rebinds"
