let
  # the answer
  a = 42;
  b = c; # want "unused let binding `b`"
  c = 1; # want "unused let binding `c`"
  d = d; # want "unused let binding `d`"
  inherit (builtins) map toString; # want "unused let binding `toString`"
in
map (x: x + a) [ ]
