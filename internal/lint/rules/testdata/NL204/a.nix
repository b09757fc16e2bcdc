{
  a = (1); # want "useless parentheses around `1`"
  b = (x: x); # want "useless parentheses"
  c = [ (1 + 2) ];
  d = (1 + 2) * 3;
  e = builtins.toString(1); # want "useless parentheses"
  f = ({ a = 1; }).a; # want "useless parentheses"
  g = ({ a.b = 1; }.a or { }).b;
  h = let inherit (builtins) map; in map;
}
