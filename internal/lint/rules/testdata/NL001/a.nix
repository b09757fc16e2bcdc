{
  a = 1
  b = 2; # want "expected `;` after the value of `a`"
  c = ; # want "expected an expression"
}
