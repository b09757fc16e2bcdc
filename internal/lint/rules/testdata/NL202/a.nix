a: b: {
  x = !(a == b); # want "can be written `a != b`"
  y = !(a != b) && true; # want "can be written `a == b`"
  z = !true; # want "`!true` is false"
  w = [ (!(a == b)) ]; # want "can be written"
  v = !a;
  # The constant keeps apart from a word before it.
  u = let in!true; # want "`!true` is false"
}
