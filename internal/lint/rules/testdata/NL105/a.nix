{
  esc = "\e[1m"; # want `unknown escape ..e. is just .e.`
  ok = "\n\t\\ \"q\" \${x}";
  ind = ''a ''\q b ''\n''; # want `unknown escape .''.q. is just .q.`
}
