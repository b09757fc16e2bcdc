{
  a = (1); # want "useless parentheses around `1`"
  b = (x: x); # want "useless parentheses"
  c = [ (1 + 2) ];
  d = (1 + 2) * 3;
  e = builtins.toString(1); # want "useless parentheses"
  f = ({ a = 1; }).a; # want "useless parentheses"
  g = ({ a.b = 1; }.a or { }).b;
  h = let inherit (builtins) map; in map;
  # Nested pairs: each inner pair fills a Paren and goes; an outer pair
  # goes too only where what is left inside may stand without it.
  i = [ ((0 != 0)) ]; # want "useless parentheses around `0 != 0`"
  j = (((x))); # want "useless parentheses" "useless parentheses" "useless parentheses"
  l = x:(x); # want "useless parentheses around `x`"
  m = [ (y+(a:b)) ((a:b)?c) ]; # want "useless parentheses around `a:b`" "useless parentheses around `a:b`"
  k = [ a((b)) ]; # want "useless parentheses around `b`" "useless parentheses around `\\(b\\)`"
}
