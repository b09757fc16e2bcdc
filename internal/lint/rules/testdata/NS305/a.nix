{
  a = rec { x = 1; y = 2; }; # want "`rec` set uses none of its own bindings"
  b = rec { x = 1; y = x; };
  c = rec { n = "k"; ${n} = 1; };
  d = rec { s = "v"; t = "${s}"; };
}
