{
  a = let in 1; # want "`let` without bindings"
  b = let # want "`let` without bindings"
    # why
  in 2;
}
