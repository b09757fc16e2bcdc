a: b: {
  x = !(a == b); # want "can be written `a != b`"
  y = !(a != b) && true; # want "can be written `a == b`"
  z = !true; # want "`!true` is false"
  w = [ (!(a == b)) ]; # want "can be written"
  v = !a;
}
