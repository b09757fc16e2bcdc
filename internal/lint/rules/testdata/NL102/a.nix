{
  id = x:x; # want "`x:x` is the string"
  ok = x: x;
  url = https://example.org;
}
