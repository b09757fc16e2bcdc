# The package set: trivial derivations built by /bin/sh, one per name, so
# that a toplevel's closure builds in milliseconds without a sandbox.
{ system }:
let
  package = name: builtins.derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" "echo ${name} > $out" ];
  };
  set = names: builtins.listToAttrs (map (n: { name = n; value = package n; }) names);
in
set [
  "bash"
  "bat"
  "btop"
  "cargo"
  "coreutils"
  "curl"
  "direnv"
  "eza"
  "fail2ban"
  "fd"
  "fish"
  "fzf"
  "gh"
  "git"
  "go"
  "gopls"
  "htop"
  "jq"
  "neovim"
  "nil"
  "nix-direnv"
  "nixfmt-rfc-style"
  "nodejs"
  "nushell"
  "openssh"
  "plex"
  "python3"
  "ripgrep"
  "rustc"
  "shellcheck"
  "shfmt"
  "starship"
  "tmux"
  "uv"
  "vim"
  "wget"
  "zellij"
  "zoxide"
  "zsh"
]
// {
  python3Packages = set [ "requests" ];
}
