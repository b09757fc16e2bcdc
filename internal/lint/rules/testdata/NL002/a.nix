{
  a = 1;
  a = 2; # want "attribute `a` already defined"
  f = { x, x }: x; # want "duplicate formal function argument `x`"
  g = y@{ y }: y; # want "duplicate formal"
}
