{
  a = [ 1 ] ++ [ 2 3 ]; # want "concatenation of two list literals"
  b = [ ] ++ [ 2 ];
  c = [ 1 /* keep */ ] ++ [ 2 ]; # want "concatenation of two list literals"
}
