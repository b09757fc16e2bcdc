let
  # The body fails on a non-set first thing, as the pattern would.
  get = args@{ ... }: args.name; # want "matches any set"
  upd = { ... } @ args: args // { extra = 1; }; # want "matches any set"
  deep = args@{ ... }: let n = 1; in with { }; args.a.b + n; # want "matches any set"
  # args:with would be one URI token: the fix keeps a space.
  tight = args@{ ... }:with { }; args.name; # want "matches any set"
in
{
  a = get { name = "x"; };
  b = upd { y = 2; };
  c = deep { a.b = 3; };
  t = tight { name = "t"; };
  # A pattern with names is no empty pattern.
  d = (args@{ x, ... }: args.x) { x = 4; };
  # args unused is NS304's finding, not this rule's.
  e = (args@{ ... }: 5) { };
}
