let map = f: l: l; in
{
  # map is rebound here, so the prefix must stay.
  a = builtins.map (x: x) [ 1 ]; # want "can be written `map`"
}
