let
  x = { z = 0; };
in
{
  one = { a = 1; } // { b = 2; }; # want "update of one set literal by another"
  many = { # want "update of one set literal by another"
    a = 1;
    inherit x;
  } // {
    b = 2;
  };
  # A chain joins pass by pass: // groups to the right.
  chain = { a = 1; } // { b = 2; } // { c = 3; }; # want "update of one set literal"
  notLiteral = x // { b = 2; };
}
