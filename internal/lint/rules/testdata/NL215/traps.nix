# Here the set check of the pattern can matter, so the fix is only
# suggested.
{
  # tryEval catches the assert of args:, not the type error of the
  # pattern.
  checked = builtins.tryEval ((args@{ ... }: assert args != 1; args.x) { x = 1; }); # want "matches any set"
  # The default makes args.x or 0 work on any value.
  withDefault = (args@{ ... }: args.x or 0) { }; # want "matches any set"
  # x // args evaluates x first.
  rightSide = (args@{ ... }: { a = 1; } // args) { }; # want "matches any set"
  # a > b is b < a: b is evaluated first, so called with 1 the fixed
  # function would throw (which tryEval catches) before args.x fails.
  greater = builtins.tryEval ((args@{ ... }: args.x > throw "b first") { x = 0; }); # want "matches any set"
  # A function of args: no use forces a set.
  passed = (args@{ ... }: builtins.isAttrs args) { }; # want "matches any set"
  # The name is rebound inside, so the outer args is unused: NS304's.
  shadowed = (args@{ ... }: let args = { x = 6; }; in args.x) { };
}
