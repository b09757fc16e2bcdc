# Reported, but joining would change which binding a name means.
let
  x = 100;
  s = { y = 1000; };
in
{
  # The inner let rebinds x, which the outer let defines too.
  collide = let x = 1; in let x = 2; in x; # want "can be joined"
  # The outer let reads the outer x; joined, x would be the inner one.
  captured = let a = x; in let x = 2; in a + x; # want "can be joined"
  # The same through a with: joined, the lexical y would win over it.
  viaWith = let a = with s; y; in let y = 2; in a + y; # want "can be joined"
  # Three lets: each join is safe alone, both at once are not (a would
  # name the innermost x). The first join waits for nothing; the second
  # is then refused.
  chain = let a = x; in let b = 2; in let x = 3; in a + b + x; # want "can be joined" "can be joined"
  # A comment between the lets would be lost.
  commented = let a = 1; in /* two */ let b = 2; in a + b; # want "can be joined"
}
