{
  f = x: 1; # want "unused function argument `x`"
  g = _x: 1;
  h = final: prev: { };
  k = x: _x: x;
  m = y: _y; # want "unused function argument `y`"
}
