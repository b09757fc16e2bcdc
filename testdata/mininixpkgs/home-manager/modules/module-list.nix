[
  ./assertions.nix
  ./home.nix
  ./programs.nix
]
