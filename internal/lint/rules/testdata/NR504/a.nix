{
  a = builtins.fetchTarball "https://x/y.tar.gz"; # want "not pinned"
  b = fetchTarball { url = "https://x"; }; # want "without sha256"
  c = builtins.fetchGit { url = "https://x"; ref = "main"; }; # want "fetchGit without rev"
  d = builtins.fetchTarball { url = "https://x"; sha256 = "0000"; };
  e = builtins.fetchGit { url = "https://x"; rev = "abc"; };
}
