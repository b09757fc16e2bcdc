# Each of these is reported, and none may be rewritten.
{
  # Another binding reads body: after the rewrite body is unbound.
  usesBody = let { body = 1; twice = body * 2; }; # want "legacy .let"
  # body reads itself through a set.
  selfRef = let { body = { a = 1; b = body.a; }; }; # want "legacy .let"
  # A dynamic name is allowed in rec, forbidden in let.
  dynamic = let { ${"x"} = 1; body = 2; }; # want "legacy .let"
  # __overrides replaces attributes of a rec set, never of a let.
  overrides = let { __overrides = { body = 5; }; body = 2; }; # want "legacy .let"
  # body defined piece by piece.
  pieces = let { body.a = 1; body.b = 2; }; # want "legacy .let"
  # A comment in the body binding would be lost.
  commented = let { a = 1; body = /* keep */ a; }; # want "legacy .let"
  trailing = let { # want "legacy .let"
    a = 1;
    body = a; # keep
  };
}
