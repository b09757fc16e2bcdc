x: {
  a = x // { }; # want "update with an empty set"
  b = {} // x // { y = 1; }; # want "update with an empty set"
  c = rec { } // x;
}
