{
  a = /etc/passwd; # want "absolute path `/etc/passwd`"
  b = ~/notes; # want "home path `~/notes`"
  c = ./rel;
  d = "/etc/passwd";
  e = /. + "/etc";
}
