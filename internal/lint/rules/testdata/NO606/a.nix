{
  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = true; # want "SSH accepts passwords"
    settings.PermitRootLogin = "yes"; # want "root log in"
  };
}
