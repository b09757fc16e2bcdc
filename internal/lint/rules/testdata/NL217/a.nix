let
  base = 1;
in
{
  services.a = base; # want "`services` is defined by 3 separate bindings"
  other = 2;
  services.b.enable = true;
  services.c = { x = 3; };
  inline = { n.a = 1; n.b = 2; n.c = 3; }; # want "`n` is defined by 3 separate bindings"
  # Two are not enough.
  two.a = 1;
  two.b = 2;
  set = let
    x.a = 1; # want "`x` is defined by 3 separate bindings"
    # This comment is above another binding, and stays.
    y = 0;
    x.b = x.a + y;
    x.c = 3;
  in x;
}
