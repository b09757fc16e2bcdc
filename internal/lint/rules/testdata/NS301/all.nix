{
  x = let
    a = 1; # want "unused let binding `a`"
  in 2;
  y = let inherit (builtins) head tail; in 3; # want "unused let binding `head`" "unused let binding `tail`"
}
