{
  a = foo/bar.nix; # want "path `foo/bar.nix` has no ./ prefix"
  b = ./foo/bar.nix;
  c = ../x;
}
