{ config, ... }:
{
  config = {
    home.file.".." = { # want `file name ".." climbs out`
      text = "x";
    };
    xdg.configFile.app.target = "/tmp/app"; # want `target "/tmp/app" is absolute`
  };
  config.home.file."../.profile".text = "y"; # want `climbs out`
}
