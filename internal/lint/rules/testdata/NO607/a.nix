{ pkgs, ... }:
{
  environment.etc."../x".text = "up"; # want `file name "../x" climbs out of the directory with ..; write a path relative to /etc`
  environment.etc = {
    "/abs".text = "abs"; # want `file name "/abs" is absolute`
    "".text = "empty"; # want `file name "" is empty`
    "a/./b".text = "dot"; # want `file name "a/./b" has an empty or . part`
    "a//b".text = "double"; # want `has an empty or . part`
    "app/../../shadow".source = ./shadow; # want `climbs out`
    moved = {
      target = "../../root/.ssh/authorized_keys"; # want `target "../../root/.ssh/authorized_keys" climbs out of the directory with ..; write a path relative to /etc`
      text = "ssh-ed25519 AAAA";
    };
  };
  home-manager.users.alice = {
    home.file."../bob/.bashrc".text = "x"; # want `file name "../bob/.bashrc" climbs out of the directory with ..; write a path relative to the home directory`
    xdg.configFile."/etc/passwd".text = "x"; # want `file name "/etc/passwd" is absolute; write a path relative to the XDG config directory`
  };
}
