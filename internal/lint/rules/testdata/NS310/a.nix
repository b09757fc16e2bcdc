let
  a = 1;
in
{
  b = let a = a; in a; # want "`a` is defined as itself"
  c = rec { a = a.x; }; # want "`a` is defined as itself"
  d = let z = z; in 1; # want "`z` is defined as itself"
  e = { a = a; };
  f = rec { b = 1; a = b; };
}
