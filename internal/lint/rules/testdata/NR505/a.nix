{
  a = builtins.currentSystem; # want "currentSystem is impure"
  b = builtins.getEnv "HOME"; # want "getEnv is impure"
  c = __currentTime; # want "currentTime is impure"
  d = builtins.storeDir;
}
