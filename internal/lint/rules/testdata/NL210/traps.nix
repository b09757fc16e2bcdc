# Reported, but merging would change the value or break the file.
let
  y = 10;
in
{
  # // replaces a whole; one literal would merge a.x and a.y.
  nested = { a.x = 1; } // { a.y = 2; }; # want "update of one set literal"
  # A name on both sides: the right one wins, one literal is an error.
  same = { a = 1; } // { a = 2; }; # want "update of one set literal"
  # rec: after merging, y would name the left set's y.
  recursive = { y = 1; } // rec { z = y; }; # want "update of one set literal"
  # Dynamic names may collide.
  dynamic = { a = 1; } // { ${"a"} = 2; }; # want "update of one set literal"
  # A comment between the two would land inside the set.
  commented = { a = 1; } /* left */ // { b = 2; }; # want "update of one set literal"
}
