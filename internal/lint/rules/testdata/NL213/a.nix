{
  one = let a = 1; in let b = a + 1; in a + b; # want "can be joined"
  many =
    let
      a = 1;
    in
    let # want "can be joined"
      b = a * 2;
      inherit (c) d;
      c = { d = b; };
    in
    a + b + d;
  # Three lets join pass by pass.
  three = let a = 1; in let b = 2; in let c = 3; in a + b + c; # want "can be joined" "can be joined"
}
