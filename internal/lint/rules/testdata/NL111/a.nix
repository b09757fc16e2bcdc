{
  a = builtins.map (x: x) [ ]; # want "`builtins.map` can be written `map`"
  b = builtins.fooBar 1; # want "builtins has no attribute `fooBar`"
  c = builtins.fooBar or null;
  d = __add 1 2; # want "`__add` is internal"
  e = builtins.readFile ./x;
}
