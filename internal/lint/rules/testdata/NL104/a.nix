let or = 1; in # want "`or` used as an attribute name"
{
  l = [ 1 or 2 ]; # want "`or` here is a variable passed"
  f = builtins.add 1 or; # want "`or` here is a variable passed"
  ok = { }.a or 2;
}
