{
  # The plain case, on one line and over several.
  one = let { a = 1; body = a + 1; }; # want "legacy .let"
  many = let { # want "legacy .let"
    # Comments above a binding stay.
    a = 1;
    b = a * 2;
    body = a + b;
  };
  # body first, and a legacy let as an operand: the rewrite is
  # parenthesised.
  first = [ let { body = x; x = 3; } ]; # want "legacy .let"
  sel = let { body = { y = 4; }; }.y; # want "legacy .let"
}
