{ pkgs, lib }:
{
  a = pkg; # want "undefined variable `pkg`; did you mean `pkgs`"
  b = readFile ./x; # want "undefined variable `readFile`"
  c = with pkgs; hello;
  d = zzzzzz; # want "undefined variable `zzzzzz`"
}
