x: {
  a = x.a; # want `can be written .inherit \(x\) a;.`
  b = x.c;
  d = x.d or null;
  e = (x // { }).e; # want `inherit \(x // \{ \}\) e;`
}
