{
  url = https://example.org/x.tar.gz; # want "unquoted URL https://example.org/x.tar.gz"
  ok = "https://example.org";
  lam = x:x;
}
