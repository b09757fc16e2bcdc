x: d: {
  a = if x ? a then x.a else d; # want "can be written `x.a or d`"
  b = if x ? a.b then x.a.b else d + 1; # want `can be written .x.a.b or \(d \+ 1\).`
  c = if x ? a then x.b else d;
  e = if x ? a then x.a else d.e; # want `or \(d.e\)`
}
