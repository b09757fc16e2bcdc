x: y: {
  a = (x == 1) == true; # want `comparison with true can be written .\(x == 1\).`
  b = (x < y) == false; # want `comparison with false can be written .!\(x < y\).`
  c = builtins.isString x != false; # want "comparison with false"
  d = x == true; # want "comparison with true can be written `x`"
  e = true == false;
}
