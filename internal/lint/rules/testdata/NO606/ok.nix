{
  services.openssh.settings = { PasswordAuthentication = false; PermitRootLogin = "prohibit-password"; };
}
