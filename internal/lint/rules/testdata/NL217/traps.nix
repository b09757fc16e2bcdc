# Reported, but not gathered: the value would change, a comment would
# move, or the set is rec.
let
  a = 10;
in
{
  # rec sets are left alone.
  recursive = rec {
    s.x = 1; # want "`s` is defined by 3 separate bindings"
    s.y = 2;
    s.z = a;
    a = 3;
  };
  # s is also defined whole: left alone, as whether parts of s merge
  # depends on that value being a set literal.
  whole = {
    s = { w = 0; };
    s.x = 1; # want "`s` is defined by 3 separate bindings"
    s.y = 2;
    s.z = 3;
  };
  # Comments between or after the bindings belong to them alone.
  commented = {
    s.x = 1; # want "`s` is defined by 3 separate bindings"
    # why y
    s.y = 2;
    s.z = 3;
  };
  trailing = {
    s.x = 1; # want "`s` is defined by 3 separate bindings"
    s.y = 2; # why y
    s.z = 3;
  };
}
