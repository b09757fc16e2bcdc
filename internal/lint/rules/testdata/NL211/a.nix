let
  a = 1;
  b = 2;
in
{
  a = a; # want "`a = a;` can be written `inherit a;`"
  nested = {
    b = b; # want "`b = b;` can be written `inherit b;`"
  };
  # A with supplies the name to inherit just as to a = a.
  fromWith = with { c = 3; }; { c = c; }; # want "`c = c;` can be written"
  c = a;
  d = b.x or b;
}
