{ pkgs, name, ... }:
{
  environment.etc."app/config.toml".text = "x";
  environment.etc.".hidden".text = "x";
  environment.etc."a..b".text = "dots inside a name";
  environment.etc."nix/${name}".text = "dynamic names are not checked";
  environment.etc.moved.target = "app/moved.conf";
  home-manager.users.alice.home.file.".config/app/rc".text = "x";
  services.etc."../x" = "not a file set";
  programs.foo.home.file."../x" = "not home-manager's home.file";
}
