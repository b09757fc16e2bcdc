{
  p = builtins.toPath "/etc"; # want "builtins.toPath is deprecated"
  q = /. + "/etc";
}
