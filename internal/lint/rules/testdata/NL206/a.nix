{
  inherit; # want "`inherit` of nothing"
  inherit (builtins); # want "`inherit` of nothing"
  a = 1;
}
