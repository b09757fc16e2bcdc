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
  # No spaces at the braces, body first or last, in let position or not.
  tight = [let{ body=x;x=3;}]; # want "legacy .let"
  tight2 = let{x=3;body=x;}; # want "legacy .let"
  tight3 = let{ body=x;x=3;}; # want "legacy .let"
}
