x: {
  a = [ ] ++ x; # want "concatenation with an empty list"
  b = x ++ []; # want "concatenation with an empty list"
  c = x ++ [ 1 ];
}
