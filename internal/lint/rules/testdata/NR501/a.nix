{
  a = import <nixpkgs> { config = { }; overlays = [ ]; }; # want "lookup path <nixpkgs>"
  b = ./x;
}
