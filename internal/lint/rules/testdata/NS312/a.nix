{
  a = rec { x = 1; y = x; };
  a.z = 2; # want "merged from rec and non-rec parts"
  b = { x = 1; };
  b.y = 2;
}
