{
  f = args@{ a, ... }: a; # want "unused `@` binding `args`"
  g = { a, ... } @ rest: a; # want "unused `@` binding `rest`"
  h = args@{ a, ... }: args.a;
}
